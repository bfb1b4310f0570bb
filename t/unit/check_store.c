/*
 * check_store: the operations of slabs/store.h one by one: set family, CAS,
 * append/prepend (growing into a larger class), delete with CAS, touch and
 * gat, incr/decr edges (wrap, floor, 20 digits, overflow, in-place rewrite
 * as memcached), and the config errors of store_create.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "slabs/store.h"
#include "t/unit/fixture.h"

#define MB (1024u * 1024u)

static store *st;

static store *mk_cfg(bool use_cas)
{
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = 16 * MB;
    c.use_cas = use_cas;
    c.hash_power = 8;
    return fx_store_create(&c);
}

static void setup(void)
{
    clock_init();
    st = mk_cfg(true);
}

static void teardown(void)
{
    store_destroy(st);
    st = NULL;
}

static enum store_result put(store *s, const char *k, const char *v, uint32_t flags,
                             int64_t exp, enum store_mode mode, uint64_t cas_in,
                             uint64_t *cas_out)
{
    enum store_result why = STORE_OK;
    item *it = store_item_alloc(s, k, strlen(k), flags, exp, strlen(v), &why);
    if (it == NULL)
        return why;
    item_value_write(s, it, 0, v, strlen(v));
    return store_commit(s, it, mode, cas_in, cas_out);
}

static enum store_result set(const char *k, const char *v)
{
    return put(st, k, v, 0, 0, STORE_SET, 0, NULL);
}

/* The value of k as a string ("" when missing), and its cas. */
static char *val(store *s, const char *k, uint64_t *cas)
{
    static char buf[4096];
    item *it = store_get(s, k, strlen(k), NULL);
    if (it == NULL)
        return strcpy(buf, "<miss>");
    ck_assert_uint_lt(item_nvalue(it), sizeof(buf));
    item_value_read(s, it, 0, buf, item_nvalue(it));
    buf[item_nvalue(it)] = '\0';
    if (cas != NULL)
        *cas = item_cas(it);
    store_release(s, it);
    return buf;
}

START_TEST(test_set_get_flags)
{
    ck_assert_int_eq(put(st, "foo", "bar", 0xdeadbeef, 0, STORE_SET, 0, NULL), STORE_OK);
    enum store_miss why = STORE_MISS;
    item *it = store_get(st, "foo", 3, &why);
    ck_assert_ptr_nonnull(it);
    ck_assert_int_eq(why, STORE_HIT);
    ck_assert_int_eq(item_nkey(it), 3);
    ck_assert_mem_eq(item_key(it), "foo", 3);
    ck_assert_uint_eq(item_nvalue(it), 3);
    ck_assert_mem_eq(item_value(it), "bar", 3);
    ck_assert_uint_eq(item_flags(it), 0xdeadbeef);
    ck_assert_uint_eq(item_cas(it), 1);
    ck_assert_uint_eq(item_exptime(it), 0);
    ck_assert(item_fetched(it));
    ck_assert_uint_eq(item_class(it), 1);
    store_release(st, it);

    ck_assert_ptr_null(store_get(st, "nope", 4, &why));
    ck_assert_int_eq(why, STORE_MISS);
    ck_assert_ptr_null(store_get(st, "", 0, &why));

    /* zero flags take no header room; an empty value is fine */
    ck_assert_int_eq(set("empty", ""), STORE_OK);
    ck_assert_str_eq(val(st, "empty", NULL), "");
    it = store_get(st, "empty", 5, NULL);
    ck_assert_uint_eq(item_flags(it), 0);
    store_release(st, it);
}
END_TEST

START_TEST(test_add_replace)
{
    ck_assert_int_eq(put(st, "k", "1", 0, 0, STORE_REPLACE, 0, NULL), STORE_NOT_STORED);
    ck_assert_str_eq(val(st, "k", NULL), "<miss>");
    ck_assert_int_eq(put(st, "k", "1", 0, 0, STORE_ADD, 0, NULL), STORE_OK);
    ck_assert_int_eq(put(st, "k", "2", 0, 0, STORE_ADD, 0, NULL), STORE_NOT_STORED);
    ck_assert_str_eq(val(st, "k", NULL), "1");
    ck_assert_int_eq(put(st, "k", "3", 7, 0, STORE_REPLACE, 0, NULL), STORE_OK);
    ck_assert_str_eq(val(st, "k", NULL), "3");
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.curr_items, 1);
    ck_assert_uint_eq(ss.total_items, 2);
}
END_TEST

START_TEST(test_cas_every_mutation)
{
    uint64_t c1 = 0, c2 = 0, c3 = 0, c4 = 0, got = 0, r = 0;
    ck_assert_int_eq(put(st, "a", "10", 0, 0, STORE_SET, 0, &c1), STORE_OK);
    ck_assert_uint_eq(c1, 1);
    ck_assert_int_eq(put(st, "a", "11", 0, 0, STORE_SET, 0, &c2), STORE_OK);
    ck_assert_uint_eq(c2, 2);
    ck_assert_int_eq(put(st, "a", "1", 0, 0, STORE_APPEND, 0, &c3), STORE_OK);
    ck_assert_uint_eq(c3, 3);
    ck_assert_str_eq(val(st, "a", &got), "111");
    ck_assert_uint_eq(got, 3);
    ck_assert_int_eq(store_arith(st, "a", 1, true, 1, &r, &c4, NULL), STORE_OK);
    ck_assert_uint_eq(r, 112);
    ck_assert_uint_eq(c4, 4);
    /* touch keeps the CAS (memcached too) */
    ck_assert_int_eq(store_touch(st, "a", 1, 100), STORE_OK);
    val(st, "a", &got);
    ck_assert_uint_eq(got, 4);
    item *it = store_get_touch(st, "a", 1, 200, NULL);
    ck_assert_uint_eq(item_cas(it), 4);
    store_release(st, it);

    /* cas: mismatch, match, missing */
    ck_assert_int_eq(put(st, "a", "x", 0, 0, STORE_CAS, 3, NULL), STORE_EXISTS);
    ck_assert_str_eq(val(st, "a", NULL), "112");
    ck_assert_int_eq(put(st, "a", "x", 0, 0, STORE_CAS, 4, &c1), STORE_OK);
    ck_assert_uint_eq(c1, 5);
    ck_assert_str_eq(val(st, "a", NULL), "x");
    ck_assert_int_eq(put(st, "a", "y", 0, 0, STORE_CAS, 4, NULL), STORE_EXISTS);
    ck_assert_int_eq(put(st, "zz", "y", 0, 0, STORE_CAS, 4, NULL), STORE_NOT_FOUND);

    /* delete with cas */
    ck_assert_int_eq(store_delete(st, "a", 1, 4, NULL), STORE_EXISTS);
    ck_assert_str_eq(val(st, "a", NULL), "x");
    ck_assert_int_eq(store_delete(st, "a", 1, 5, NULL), STORE_OK);
    ck_assert_str_eq(val(st, "a", NULL), "<miss>");
    ck_assert_int_eq(store_delete(st, "a", 1, 0, NULL), STORE_NOT_FOUND);
    ck_assert_int_eq(set("b", "v"), STORE_OK);
    ck_assert_int_eq(store_delete(st, "b", 1, 0, NULL), STORE_OK);
    ck_assert_int_eq(store_delete(st, "b", 1, 0, NULL), STORE_NOT_FOUND);
}
END_TEST

START_TEST(test_no_cas)
{
    store *s = mk_cfg(false);
    uint64_t c = 99;
    ck_assert_int_eq(put(s, "a", "1", 0, 0, STORE_SET, 0, &c), STORE_OK);
    ck_assert_uint_eq(c, 0);
    uint64_t got = 99;
    ck_assert_str_eq(val(s, "a", &got), "1");
    ck_assert_uint_eq(got, 0);
    ck_assert_uint_eq(store_item_header_size(s, 0), 30);
    ck_assert_uint_eq(store_item_header_size(s, 1), 34);
    ck_assert_uint_eq(store_item_header_size(st, 0), 38);
    ck_assert_uint_eq(store_item_header_size(st, 1), 42);
    store_destroy(s);
}
END_TEST

START_TEST(test_append_prepend)
{
    ck_assert_int_eq(put(st, "k", "x", 0, 0, STORE_APPEND, 0, NULL), STORE_NOT_STORED);
    ck_assert_int_eq(put(st, "k", "x", 0, 0, STORE_PREPEND, 0, NULL), STORE_NOT_STORED);
    ck_assert_int_eq(put(st, "k", "mid", 42, 1000, STORE_SET, 0, NULL), STORE_OK);
    ck_assert_int_eq(put(st, "k", "_end", 7, 5, STORE_APPEND, 0, NULL), STORE_OK);
    ck_assert_int_eq(put(st, "k", "start_", 8, 5, STORE_PREPEND, 0, NULL), STORE_OK);
    item *it = store_get(st, "k", 1, NULL);
    ck_assert_uint_eq(item_nvalue(it), 13);
    ck_assert_mem_eq(item_value(it), "start_mid_end", 13);
    ck_assert_uint_eq(item_flags(it), 42);            /* the old item's flags */
    ck_assert_uint_eq(item_exptime(it), clock_now() + 1000);  /* and exptime */
    store_release(st, it);

    /* with cas */
    uint64_t c = 0;
    val(st, "k", &c);
    ck_assert_int_eq(put(st, "k", "!", 0, 0, STORE_APPEND, c + 1, NULL), STORE_EXISTS);
    ck_assert_int_eq(put(st, "k", "!", 0, 0, STORE_APPEND, c, NULL), STORE_OK);
    ck_assert_str_eq(val(st, "k", NULL), "start_mid_end!");
}
END_TEST

START_TEST(test_append_grows_class)
{
    /* 38 + 1 + 40 = 79 -> class 1 (88); 38 + 1 + 80 = 119 -> class 3 (144) */
    char forty[41];
    memset(forty, 'a', 40);
    forty[40] = '\0';
    ck_assert_int_eq(set("g", forty), STORE_OK);
    item *it = store_get(st, "g", 1, NULL);
    ck_assert_uint_eq(item_class(it), 1);
    ck_assert_uint_eq(store_class_chunk_size(st, 1), 88);
    ck_assert_uint_eq(store_class_chunk_size(st, 3), 144);
    /* a reader holding the old item keeps reading the old value */
    ck_assert_int_eq(put(st, "g", forty, 0, 0, STORE_APPEND, 0, NULL), STORE_OK);
    ck_assert_uint_eq(item_nvalue(it), 40);
    ck_assert_mem_eq(item_value(it), forty, 40);
    store_release(st, it);
    it = store_get(st, "g", 1, NULL);
    ck_assert_uint_eq(item_class(it), 3);
    ck_assert_uint_eq(item_nvalue(it), 80);
    store_release(st, it);

    struct store_class_stats c1, c3;
    store_class_stats(st, 1, &c1);
    store_class_stats(st, 3, &c3);
    ck_assert_uint_eq(c1.used_chunks, 0);   /* the old chunk went back */
    ck_assert_uint_eq(c1.curr_items, 0);
    ck_assert_uint_eq(c3.used_chunks, 1);
    ck_assert_uint_eq(c3.mem_requested, 38 + 1 + 80);

    /* beyond the largest chunk: too large, old value kept */
    size_t big = store_item_size_max(st, 1);
    ck_assert_uint_eq(big, 1024 * 1024 - 42);
    char *huge = malloc(big);
    memset(huge, 'b', big - 1);
    huge[big - 1] = '\0';
    ck_assert_int_eq(put(st, "g", huge, 0, 0, STORE_APPEND, 0, NULL), STORE_TOO_LARGE);
    ck_assert_uint_eq(strlen(val(st, "g", NULL)), 80);
    free(huge);
}
END_TEST

START_TEST(test_too_large)
{
    enum store_result why = STORE_OK;
    /* largest class 1 MB: key 1 + value fills exactly with 38 header bytes */
    item *it = store_item_alloc(st, "k", 1, 0, 0, PAGE_SIZE_DEFAULT - 38 - 1, &why);
    ck_assert_ptr_nonnull(it);
    ck_assert_uint_eq(item_class(it), store_class_count(st));
    store_release(st, it);
    ck_assert_ptr_null(store_item_alloc(st, "k", 1, 0, 0, PAGE_SIZE_DEFAULT - 38, &why));
    ck_assert_int_eq(why, STORE_TOO_LARGE);
    ck_assert_ptr_null(store_item_alloc(st, "k", 1, 5, 0, PAGE_SIZE_DEFAULT - 42, &why));
    ck_assert_int_eq(why, STORE_TOO_LARGE);
    char key[KEY_MAX_LENGTH + 1];
    memset(key, 'k', sizeof(key));
    ck_assert_ptr_null(store_item_alloc(st, key, KEY_MAX_LENGTH + 1, 0, 0, 1, &why));
    it = store_item_alloc(st, key, KEY_MAX_LENGTH, 0, 0, 1, &why);
    ck_assert_ptr_nonnull(it);
    item_value_mut(it)[0] = 'v';
    ck_assert_int_eq(store_commit(st, it, STORE_SET, 0, NULL), STORE_OK);
    it = store_get(st, key, KEY_MAX_LENGTH, NULL);
    ck_assert_ptr_nonnull(it);
    ck_assert_mem_eq(item_key(it), key, KEY_MAX_LENGTH);
    store_release(st, it);
}
END_TEST

START_TEST(test_touch_gat)
{
    ck_assert_int_eq(store_touch(st, "t", 1, 10), STORE_NOT_FOUND);
    ck_assert_int_eq(set("t", "v"), STORE_OK);
    ck_assert_int_eq(store_touch(st, "t", 1, 10), STORE_OK);
    clock_advance(9);
    ck_assert_str_eq(val(st, "t", NULL), "v");
    enum store_miss why;
    item *it = store_get_touch(st, "t", 1, 100, &why);
    ck_assert_int_eq(why, STORE_HIT);
    ck_assert_uint_eq(item_exptime(it), clock_now() + 100);
    store_release(st, it);
    clock_advance(50);
    ck_assert_str_eq(val(st, "t", NULL), "v");
    clock_advance(50);
    ck_assert_ptr_null(store_get_touch(st, "t", 1, 100, &why));
    ck_assert_int_eq(why, STORE_MISS_EXPIRED);
    /* touch with a negative exptime expires at once */
    ck_assert_int_eq(set("u", "v"), STORE_OK);
    ck_assert_int_eq(store_touch(st, "u", 1, -1), STORE_OK);
    ck_assert_str_eq(val(st, "u", NULL), "<miss>");
}
END_TEST

static uint64_t arith(const char *k, bool incr, uint64_t d, enum store_result expect)
{
    uint64_t r = 12345;
    ck_assert_int_eq(store_arith(st, k, strlen(k), incr, d, &r, NULL, NULL), expect);
    return r;
}

START_TEST(test_arith_basic)
{
    arith("n", true, 1, STORE_NOT_FOUND);
    ck_assert_int_eq(set("n", "10"), STORE_OK);
    ck_assert_uint_eq(arith("n", true, 5, STORE_OK), 15);
    ck_assert_str_eq(val(st, "n", NULL), "15");
    /* memcached: decr 10 by 1 rewrites in place, padded: "9 " */
    ck_assert_int_eq(set("n", "10"), STORE_OK);
    ck_assert_uint_eq(arith("n", false, 1, STORE_OK), 9);
    ck_assert_str_eq(val(st, "n", NULL), "9 ");
    /* and reads its own padding back */
    ck_assert_uint_eq(arith("n", true, 1, STORE_OK), 10);
    ck_assert_str_eq(val(st, "n", NULL), "10");
    /* growing needs a new item of the exact length */
    ck_assert_int_eq(set("n", "99"), STORE_OK);
    ck_assert_uint_eq(arith("n", true, 1, STORE_OK), 100);
    ck_assert_str_eq(val(st, "n", NULL), "100");
    /* floor at 0 */
    ck_assert_uint_eq(arith("n", false, 1000, STORE_OK), 0);
    ck_assert_str_eq(val(st, "n", NULL), "0  ");
    /* leading blanks and a trailing blank parse, as strtoull */
    ck_assert_int_eq(set("n", " 12"), STORE_OK);
    ck_assert_uint_eq(arith("n", true, 1, STORE_OK), 13);
    ck_assert_str_eq(val(st, "n", NULL), "13 ");
}
END_TEST

START_TEST(test_arith_edges)
{
    /* 2^64 - 1 wraps to 0, in place: 20 characters kept */
    ck_assert_int_eq(set("w", "18446744073709551615"), STORE_OK);
    ck_assert_uint_eq(arith("w", true, 1, STORE_OK), 0);
    ck_assert_str_eq(val(st, "w", NULL), "0                   ");
    ck_assert_int_eq(set("w", "5"), STORE_OK);
    ck_assert_uint_eq(arith("w", true, UINT64_MAX, STORE_OK), 4);
    ck_assert_int_eq(set("w", "0"), STORE_OK);
    ck_assert_uint_eq(arith("w", true, UINT64_MAX, STORE_OK), UINT64_MAX);
    ck_assert_str_eq(val(st, "w", NULL), "18446744073709551615");
    /* 20 digits that fit */
    ck_assert_int_eq(set("w", "10000000000000000000"), STORE_OK);
    ck_assert_uint_eq(arith("w", false, 1, STORE_OK), 9999999999999999999ull);
    ck_assert_str_eq(val(st, "w", NULL), "9999999999999999999 ");
    /* 20 or 21 digits that do not fit 64 bits: refused, value unchanged */
    ck_assert_int_eq(set("w", "18446744073709551616"), STORE_OK);
    arith("w", true, 1, STORE_NON_NUMERIC);
    ck_assert_int_eq(set("w", "100000000000000000000"), STORE_OK);
    arith("w", true, 1, STORE_NON_NUMERIC);
    ck_assert_str_eq(val(st, "w", NULL), "100000000000000000000");
    /* memcached parses like strtoull: a leading zero keeps 21 chars in range */
    ck_assert_int_eq(set("w", "018446744073709551615"), STORE_OK);
    ck_assert_uint_eq(arith("w", true, 1, STORE_OK), 0);
    /* not numbers */
    const char *bad[] = {"", "abc", "-1", "12abc", "1.5", "0x10", " "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(set("w", bad[i]), STORE_OK);
        arith("w", true, 1, STORE_NON_NUMERIC);
        arith("w", false, 1, STORE_NON_NUMERIC);
    }
}
END_TEST

START_TEST(test_arith_held_item)
{
    /* while a reader holds the item, arith builds a new one (exact length) */
    ck_assert_int_eq(put(st, "h", "100", 9, 0, STORE_SET, 0, NULL), STORE_OK);
    item *held = store_get(st, "h", 1, NULL);
    ck_assert_uint_eq(arith("h", false, 1, STORE_OK), 99);
    ck_assert_mem_eq(item_value(held), "100", 3);
    store_release(st, held);
    item *it = store_get(st, "h", 1, NULL);
    ck_assert_uint_eq(item_nvalue(it), 2);
    ck_assert_mem_eq(item_value(it), "99", 2);
    ck_assert_uint_eq(item_flags(it), 9);
    store_release(st, it);
}
END_TEST

static void expect_create_error(struct store_config *c, const char *needle)
{
    char err[256] = "";
    ck_assert_ptr_null(store_create(c, err, sizeof(err)));
    ck_assert_msg(strstr(err, needle) != NULL, "err '%s' lacks '%s'", err, needle);
    ck_assert_ptr_null(strchr(err, '\n'));
}

START_TEST(test_config_errors)
{
    struct store_config c;
    store_config_defaults(&c);
    ck_assert_uint_eq(c.mem_limit, 64 * MB);
    ck_assert_uint_eq(c.page_size, MB);
    ck_assert(c.factor == 1.25);
    ck_assert_uint_eq(c.chunk_min, 48);
    ck_assert(c.use_cas);
    ck_assert(!c.no_evict && !c.prealloc);
    ck_assert_uint_eq(c.hash_power, 16);

    c.factor = 1.0;
    expect_create_error(&c, "factor");
    store_config_defaults(&c);
    c.chunk_min = 0;
    expect_create_error(&c, "chunk");
    store_config_defaults(&c);
    c.page_size = 512;
    expect_create_error(&c, "page size");
    c.page_size = PAGE_SIZE_MAX + 8;
    expect_create_error(&c, "page size");
    c.page_size = 1028;
    expect_create_error(&c, "multiple");
    store_config_defaults(&c);
    c.hash_power = HASH_POWER_MAX + 1;
    expect_create_error(&c, "hash power must be at most 31");
    store_config_defaults(&c);
    c.mem_limit = (uint64_t)33 * 1024 * MB;
    expect_create_error(&c, "memory limit");
    c.mem_limit = MB - 1;
    expect_create_error(&c, "memory limit");
    store_config_defaults(&c);
    c.page_size = 1024;
    c.chunk_min = 1000;
    expect_create_error(&c, "smallest chunk");
    store_config_defaults(&c);
    c.page_size = PAGE_SIZE_MAX;
    c.mem_limit = PAGE_SIZE_MAX;
    c.factor = 1.0001;
    expect_create_error(&c, "growth factor 1.0001 with chunk size 48 and page size 1073741824 "
                            "needs more than 255 classes");
    store_config_defaults(&c);   /* an explicit class table (-o slab_sizes) */
    c.nclass_sizes = 2;
    c.class_sizes[0] = 100;
    c.class_sizes[1] = 104;
    expect_create_error(&c, "slab size 104 must be more than 8 bytes above the previous");
    c.nclass_sizes = 1;
    c.class_sizes[0] = 38;
    expect_create_error(&c, "slab size 38 is smaller than an item's header (39 bytes)");
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("ops");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_set_get_flags);
    tcase_add_test(tc, test_add_replace);
    tcase_add_test(tc, test_cas_every_mutation);
    tcase_add_test(tc, test_no_cas);
    tcase_add_test(tc, test_append_prepend);
    tcase_add_test(tc, test_append_grows_class);
    tcase_add_test(tc, test_too_large);
    tcase_add_test(tc, test_touch_gat);
    tcase_add_test(tc, test_arith_basic);
    tcase_add_test(tc, test_arith_edges);
    tcase_add_test(tc, test_arith_held_item);
    tcase_add_test(tc, test_config_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(store_suite());
}
