/*
 * check_chain: chained items (values beyond slab_chunk_max) through the
 * public store interface and a reply: sizes around every chunk boundary with
 * exact bytes back (segments, item_value_read, reply_iov), mem_requested per
 * class worked out independently, append/prepend and incr across the plain
 * / chained boundary, eviction of chains under memory pressure, references
 * held by readers and replies, slab_chunk_max checks, and a threaded
 * replace/read run for TSan. Sanitizer builds run the SLABS_CHECK
 * invariants (freeing order, kinds) on every chunk.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "protocol/reply.h"
#include "slabs/internal.h"
#include "slabs/store.h"
#include "t/unit/fixture.h"

#define KB 1024u
#define MB (1024u * 1024u)
#define HDR (ITEM_HEADER_SIZE + ITEM_CAS_SIZE)   /* item header with CAS, no flags */
#define CHUNK_HDR ITEM_HEADER_SIZE   /* a data chunk's header */
#define LINK 4u                 /* a head's link to its first data chunk */
#define IOV_TEST 64
#define THREAD_ROUNDS 200

static store *st;

/* The byte at offset i of a value seeded with seed: no period near a chunk. */
static char pat(size_t i, unsigned seed)
{
    return (char)((i * 131u + i / 251u + seed * 7u) & 0xff);
}

static char *pattern(size_t n, unsigned seed)
{
    char *v = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n; i++)
        v[i] = pat(i, seed);
    return v;
}

static store *mk(uint64_t mem, uint32_t page, uint32_t chunk_max)
{
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = mem;
    c.page_size = page;
    c.chunk_max = chunk_max;
    c.hash_power = 8;
    return fx_store_create(&c);
}

static void setup(void)
{
    clock_init();
    st = mk(64 * MB, MB, 0);
}

static void teardown(void)
{
    store_destroy(st);
}

static enum store_result put_mode(store *s, const char *k, const char *v, size_t n,
                                  enum store_mode mode)
{
    enum store_result why = STORE_OK;
    item *it = store_item_alloc(s, k, strlen(k), 0, 0, n, &why);
    if (it == NULL)
        return why;
    item_value_write(s, it, 0, v, n);
    return store_commit(s, it, mode, 0, NULL);
}

static enum store_result put(store *s, const char *k, const char *v, size_t n)
{
    return put_mode(s, k, v, n, STORE_SET);
}

/* Checks the held item's value is exactly v[0..n) by segments and by reads. */
static void check_bytes(store *s, item *it, const char *v, size_t n)
{
    ck_assert_uint_eq(item_nvalue(it), n);
    struct item_seg_iter si;
    struct store_seg seg;
    size_t off = 0, segs = 0;
    for (item_seg_begin(&si, s, it); item_seg_next(&si, &seg); segs++) {
        ck_assert_uint_le(off + seg.len, n);
        ck_assert_msg(memcmp(seg.ptr, v + off, seg.len) == 0, "segment %zu differs", segs);
        off += seg.len;
    }
    ck_assert_uint_eq(off, n);
    ck_assert_uint_eq(segs > 1, item_is_chained(it));
    /* reads at a few offsets that straddle segments */
    char buf[256];
    for (size_t at = 0; at < n; at += n / 7 + 1) {
        size_t take = n - at < sizeof(buf) ? n - at : sizeof(buf);
        item_value_read(s, it, at, buf, take);
        ck_assert(memcmp(buf, v + at, take) == 0);
    }
}

static void check_key(store *s, const char *k, const char *v, size_t n)
{
    item *it = store_get(s, k, strlen(k), NULL);
    ck_assert_msg(it != NULL, "%s missing", k);
    check_bytes(s, it, v, n);
    store_release(s, it);
}

/* Sum over every class of mem_requested, or of used_chunks. */
static uint64_t class_sum(store *s, bool chunks)
{
    uint64_t sum = 0;
    for (unsigned c = 1; c <= store_class_count(s); c++) {
        struct store_class_stats cs;
        store_class_stats(s, c, &cs);
        sum += chunks ? cs.used_chunks : cs.mem_requested;
    }
    return sum;
}

static uint64_t mem_requested_all(store *s)
{
    return class_sum(s, false);
}

static uint64_t used_chunks_all(store *s)
{
    return class_sum(s, true);
}

static uint64_t class_requested(store *s, unsigned cls)
{
    struct store_class_stats cs;
    store_class_stats(s, cls, &cs);
    return cs.mem_requested;
}

/* What an item of key nkey and n value bytes should cost, worked out from
 * the layout: plain, or head (a whole largest chunk) + data chunks. *last_cls
 * gets the class of the last data chunk (0 if plain), *last_bytes its bytes. */
static uint64_t expected_cost(store *s, size_t nkey, size_t n, unsigned *last_cls,
                              uint64_t *last_bytes)
{
    unsigned top = store_class_count(s);
    uint32_t cmax = store_class_chunk_size(s, top);
    *last_cls = 0;
    *last_bytes = 0;
    if (HDR + nkey + n <= cmax)
        return HDR + nkey + n;
    size_t rest = n - (cmax - HDR - nkey - LINK);
    size_t per = cmax - CHUNK_HDR;
    uint64_t cost = cmax;
    while (rest > per) {
        cost += cmax;
        rest -= per;
    }
    *last_bytes = CHUNK_HDR + rest;
    for (unsigned c = 1; c <= top; c++)
        if (store_class_chunk_size(s, c) >= *last_bytes) {
            *last_cls = c;
            break;
        }
    return cost + *last_bytes;
}

START_TEST(test_boundaries)
{
    unsigned top = store_class_count(st);
    uint32_t cmax = store_class_chunk_size(st, top);
    ck_assert_uint_eq(cmax, MB / 2);
    size_t nkey = 1;
    size_t seg0 = cmax - HDR - nkey - LINK, per = cmax - CHUNK_HDR;
    size_t plain_max = cmax - HDR - nkey;
    size_t largest = MB - HDR - nkey;
    ck_assert_uint_eq(store_item_size_max(st, nkey), MB - HDR - 4);
    const size_t sizes[] = {
        plain_max - 1, plain_max, plain_max + 1,   /* around chunk_max */
        seg0 + 1, seg0 + per - 1, seg0 + per, seg0 + per + 1,
        (size_t)cmax, 600 * KB, largest - 1, largest,
    };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        char *v = pattern(n, (unsigned)i);
        ck_assert_msg(put(st, "k", v, n) == STORE_OK, "size %zu", n);
        check_key(st, "k", v, n);
        unsigned last_cls;
        uint64_t last_bytes;
        uint64_t cost = expected_cost(st, nkey, n, &last_cls, &last_bytes);
        /* exactly this item: the one it replaced went back */
        ck_assert_uint_eq(mem_requested_all(st), cost);
        if (last_cls != 0 && last_cls != top)
            ck_assert_uint_eq(class_requested(st, last_cls), last_bytes);
        free(v);
    }
    /* one byte over the largest item */
    enum store_result why = STORE_OK;
    ck_assert_ptr_null(store_item_alloc(st, "k", 1, 0, 0, largest + 1, &why));
    ck_assert_int_eq(why, STORE_TOO_LARGE);
    ck_assert_ptr_null(store_item_alloc(st, "k", 1, 9, 0, largest - 3, &why));
    ck_assert_int_eq(why, STORE_TOO_LARGE);    /* flags take 4 bytes */
    ck_assert_int_eq(store_delete(st, "k", 1, 0, NULL), STORE_OK);
    ck_assert_uint_eq(mem_requested_all(st), 0);
}
END_TEST

START_TEST(test_total_size_and_flags)
{
    size_t n = 700 * KB;
    char *v = pattern(n, 3);
    enum store_result why = STORE_OK;
    item *it = store_item_alloc(st, "flagged", 7, 0xabcd, 0, n, &why);
    ck_assert_ptr_nonnull(it);
    item_value_write(st, it, 0, v, n);
    ck_assert_int_eq(store_commit(st, it, STORE_SET, 0, NULL), STORE_OK);
    it = store_get(st, "flagged", 7, NULL);
    ck_assert_uint_eq(item_flags(it), 0xabcd);
    ck_assert_uint_eq(item_class(it), store_class_count(st));
    check_bytes(st, it, v, n);
    ck_assert_uint_eq(store_item_total_size(st, it), mem_requested_all(st));
    store_release(st, it);
    free(v);
}
END_TEST

START_TEST(test_append_prepend_across)
{
    unsigned top = store_class_count(st);
    size_t plain_max = store_class_chunk_size(st, top) - HDR - 1;
    size_t n1 = plain_max - 10, add = 100, total = 3 * (size_t)MB / 4;
    char *all = pattern(total, 5);
    /* plain -> chained by append */
    ck_assert_int_eq(put(st, "a", all, n1), STORE_OK);
    item *held = store_get(st, "a", 1, NULL);
    ck_assert(!item_is_chained(held));
    ck_assert_int_eq(put_mode(st, "a", all + n1, add, STORE_APPEND), STORE_OK);
    check_key(st, "a", all, n1 + add);
    check_bytes(st, held, all, n1);        /* a reader keeps the old value */
    store_release(st, held);
    /* chained -> longer by append */
    size_t n2 = total - n1 - add - 5000;
    ck_assert_int_eq(put_mode(st, "a", all + n1 + add, n2, STORE_APPEND), STORE_OK);
    check_key(st, "a", all, n1 + add + n2);
    /* prepend onto a chained value */
    ck_assert_int_eq(put(st, "p", all + 5000, total - 5000), STORE_OK);
    ck_assert_int_eq(put_mode(st, "p", all, 5000, STORE_PREPEND), STORE_OK);
    check_key(st, "p", all, total);
    /* plain -> chained by prepend */
    ck_assert_int_eq(put(st, "q", all + 200, plain_max - 1), STORE_OK);
    ck_assert_int_eq(put_mode(st, "q", all, 200, STORE_PREPEND), STORE_OK);
    check_key(st, "q", all, plain_max + 199);
    /* beyond the largest item: refused, old value kept */
    size_t big = store_item_size_max(st, 1) + 4 - total + 1;
    char *more = pattern(big, 6);
    ck_assert_int_eq(put_mode(st, "p", more, big, STORE_APPEND), STORE_TOO_LARGE);
    check_key(st, "p", all, total);
    free(more);
    free(all);
}
END_TEST

/* A value of n bytes: text at the start, then fill. */
static char *padded(const char *text, char fill, size_t n)
{
    char *v = malloc(n);
    memset(v, fill, n);
    memcpy(v, text, strlen(text));
    return v;
}

START_TEST(test_incr_chained)
{
    size_t n = 600 * KB;
    uint64_t result = 0;
    char *v = padded("41", ' ', n);
    ck_assert_int_eq(put(st, "n", v, n), STORE_OK);
    ck_assert_int_eq(store_arith(st, "n", 1, true, 1, &result, NULL, NULL), STORE_OK);
    ck_assert_uint_eq(result, 42);
    check_key(st, "n", "42", 2);           /* a new plain item with the digits */
    free(v);
    /* leading zeros across the segment boundary: parsed over every segment */
    v = padded("", '0', n);
    memcpy(v + n - 2, "7 ", 2);
    ck_assert_int_eq(put(st, "z", v, n), STORE_OK);
    ck_assert_int_eq(store_arith(st, "z", 1, false, 2, &result, NULL, NULL), STORE_OK);
    ck_assert_uint_eq(result, 5);
    check_key(st, "z", "5", 1);
    free(v);
    /* a digit after the blank is the end: still a number; a letter is not */
    v = padded("12 x", 'y', n);
    ck_assert_int_eq(put(st, "y", v, n), STORE_OK);
    ck_assert_int_eq(store_arith(st, "y", 1, true, 1, &result, NULL, NULL), STORE_OK);
    ck_assert_uint_eq(result, 13);
    free(v);
    v = padded("", ' ', n);
    v[n - 1] = 'x';
    ck_assert_int_eq(put(st, "x", v, n), STORE_OK);
    ck_assert_int_eq(store_arith(st, "x", 1, true, 1, &result, NULL, NULL), STORE_NON_NUMERIC);
    free(v);
}
END_TEST

START_TEST(test_eviction_pressure)
{
    /* 16 pages of 64 KB, chunk_max 32 KB: 40 KB values are head + one chunk */
    store *s = mk(16 * 64 * KB, 64 * KB, 0);
    size_t n = 40 * KB;
    char key[16];
    char *v[60];
    for (int i = 0; i < 60; i++) {
        v[i] = pattern(n, (unsigned)i);
        snprintf(key, sizeof(key), "e%d", i);
        ck_assert_msg(put(s, key, v[i], n) == STORE_OK, "set %d", i);
        if (i % 3 == 0) {
            snprintf(key, sizeof(key), "s%d", i);
            ck_assert_int_eq(put(s, key, "small", 5), STORE_OK);
        }
    }
    struct store_stats ss;
    store_stats(s, &ss);
    ck_assert_uint_gt(ss.evictions, 0);
    ck_assert_uint_le(ss.total_malloced, 16 * 64 * KB);
    /* the newest ones are all there, every one that is left is whole */
    int kept = 0;
    uint64_t cost = 0;
    for (int i = 0; i < 60; i++) {
        snprintf(key, sizeof(key), "e%d", i);
        item *it = store_get(s, key, strlen(key), NULL);
        if (it != NULL) {
            check_bytes(s, it, v[i], n);
            store_release(s, it);
            kept++;
            unsigned lc;
            uint64_t lb;
            cost += expected_cost(s, strlen(key), n, &lc, &lb);
        } else {
            ck_assert_msg(i < 50, "recent e%d evicted", i);
        }
        snprintf(key, sizeof(key), "s%d", i);
        it = store_get(s, key, strlen(key), NULL);
        if (it != NULL) {
            cost += HDR + strlen(key) + 5;
            store_release(s, it);
        }
        free(v[i]);
    }
    ck_assert_int_ge(kept, 15);
    ck_assert_uint_eq(mem_requested_all(s), cost);   /* nothing leaked */
    store_destroy(s);
}
END_TEST

START_TEST(test_no_evict_fails_clean)
{
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = 4 * 64 * KB;
    c.page_size = 64 * KB;
    c.no_evict = true;
    store *s = fx_store_create(&c);
    size_t n = 60 * KB;                /* head + one data chunk */
    char *v = pattern(n, 9);
    enum store_result r = STORE_OK;
    int stored = 0;
    char key[16];
    for (int i = 0; i < 8 && r == STORE_OK; i++) {
        snprintf(key, sizeof(key), "m%d", i);
        r = put(s, key, v, n);
        stored += r == STORE_OK;
    }
    ck_assert_int_eq(r, STORE_NO_MEMORY);
    ck_assert_int_ge(stored, 1);
    uint64_t cost = 0;
    for (int i = 0; i < stored; i++) {
        snprintf(key, sizeof(key), "m%d", i);
        check_key(s, key, v, n);
        unsigned lc;
        uint64_t lb;
        cost += expected_cost(s, strlen(key), n, &lc, &lb);
    }
    /* the failed chain gave back what it had taken */
    ck_assert_uint_eq(mem_requested_all(s), cost);
    struct store_class_stats cs;
    uint64_t oom = 0;
    for (unsigned cls = 1; cls <= store_class_count(s); cls++) {
        store_class_stats(s, cls, &cs);
        oom += cs.outofmemory;
    }
    ck_assert_uint_eq(oom, 1);
    free(v);
    store_destroy(s);
}
END_TEST

START_TEST(test_spill_every_size)
{
    /* 8 pages of 64 KB and 30 sizes from 60 B to 30 KB in 26 classes
     * (slab_chunk_max = the page: none is chained, and chains never spill):
     * after 8 classes have their page the others spill into chunks free in
     * those pages, evicting nothing */
    store *s = mk(8 * 64 * KB, 64 * KB, 64 * KB);
    enum { SIZES = 30 };
    size_t n[SIZES];
    char *v[SIZES];
    char key[16];
    uint64_t cost = 0;
    for (int i = 0; i < SIZES; i++) {
        n[i] = (size_t)(60.0 * pow(512.0, i / (double)(SIZES - 1)));
        v[i] = pattern(n[i], (unsigned)i);
        snprintf(key, sizeof(key), "s%d", i);
        ck_assert_msg(put(s, key, v[i], n[i]) == STORE_OK, "size %zu", n[i]);
        item *it = store_get(s, key, strlen(key), NULL);
        cost += store_item_total_size(s, it);
        store_release(s, it);
    }
    struct store_stats ss;
    store_stats(s, &ss);
    ck_assert_uint_eq(ss.evictions, 0);
    ck_assert_uint_eq(ss.total_malloced, 8 * 64 * KB);
    ck_assert_uint_eq(mem_requested_all(s), cost);
    int spilled = -1;
    for (int i = 0; i < SIZES; i++) {
        snprintf(key, sizeof(key), "s%d", i);
        item *it = store_get(s, key, strlen(key), NULL);
        ck_assert_ptr_nonnull(it);
        check_bytes(s, it, v[i], n[i]);
        if (item_is_chained(it) && n[i] < 32 * KB && spilled < 0)
            spilled = i;
        store_release(s, it);
    }
    ck_assert_int_ge(spilled, 0);
    /* append and incr work on spilled items too */
    snprintf(key, sizeof(key), "s%d", spilled);
    size_t ns = n[spilled];
    v[spilled] = realloc(v[spilled], ns + 1);
    v[spilled][ns] = '7';
    ck_assert_int_eq(put_mode(s, key, "7", 1, STORE_APPEND), STORE_OK);
    check_key(s, key, v[spilled], ns + 1);
    for (int i = 0; i < SIZES; i++)
        free(v[i]);
    ck_assert_int_eq(put(s, "num", "41", 2), STORE_OK);
    uint64_t result = 0;
    ck_assert_int_eq(store_arith(s, "num", 3, true, 1, &result, NULL, NULL), STORE_OK);
    ck_assert_uint_eq(result, 42);
    for (int i = 0; i < SIZES; i++) {
        snprintf(key, sizeof(key), "s%d", i);
        store_delete(s, key, strlen(key), 0, NULL);
    }
    store_delete(s, "num", 3, 0, NULL);
    ck_assert_uint_eq(used_chunks_all(s), 0);
    ck_assert_uint_eq(mem_requested_all(s), 0);
    store_destroy(s);
}
END_TEST

/* Gathers everything the reply has to send into a malloc'd buffer. */
static char *reply_bytes(struct reply *r, size_t *n)
{
    struct iovec iov[IOV_TEST];
    int cnt = reply_iov(r, iov, IOV_TEST);
    *n = reply_pending(r);
    char *out = malloc(*n + 1), *p = out;
    for (int i = 0; i < cnt; i++) {
        memcpy(p, iov[i].iov_base, iov[i].iov_len);
        p += iov[i].iov_len;
    }
    ck_assert_uint_eq((size_t)(p - out), *n);
    return out;
}

START_TEST(test_reply_segments)
{
    size_t n = MB - HDR - 1;            /* the largest item with key "r": 3 segments */
    char *v = pattern(n, 11);
    ck_assert_int_eq(put(st, "r", v, n), STORE_OK);
    struct reply *r = reply_new(st);
    REPLY_LIT(r, "VALUE\r\n");
    reply_add_value(r, store_get(st, "r", 1, NULL));
    REPLY_LIT(r, "\r\n");
    ck_assert_uint_eq(reply_pieces(r), 5);
    size_t got;
    char *bytes = reply_bytes(r, &got);
    ck_assert_uint_eq(got, n + 9);
    ck_assert(memcmp(bytes, "VALUE\r\n", 7) == 0);
    ck_assert(memcmp(bytes + 7, v, n) == 0);
    ck_assert(memcmp(bytes + 7 + n, "\r\n", 2) == 0);
    free(bytes);
    /* deleted meanwhile: the chain stays until its last byte is sent */
    ck_assert_int_eq(store_delete(st, "r", 1, 0, NULL), STORE_OK);
    ck_assert_uint_eq(used_chunks_all(st), 3);
    reply_consumed(r, 7 + n / 2);
    ck_assert_uint_eq(used_chunks_all(st), 3);
    reply_consumed(r, n - n / 2 - 1);
    ck_assert_uint_eq(used_chunks_all(st), 3);
    reply_consumed(r, 1);
    ck_assert_uint_eq(used_chunks_all(st), 0);
    reply_consumed(r, 2);
    ck_assert_uint_eq(reply_pending(r), 0);
    reply_free(r);
    free(v);
}
END_TEST

START_TEST(test_reply_rollback_into_value)
{
    size_t n = 600 * KB;
    char *v = pattern(n, 12);
    ck_assert_int_eq(put(st, "r", v, n), STORE_OK);
    ck_assert_int_eq(store_delete(st, "q", 1, 0, NULL), STORE_NOT_FOUND);
    struct reply *r = reply_new(st);
    REPLY_LIT(r, "head");
    size_t mark = reply_mark(r);
    reply_add_value(r, store_get(st, "r", 1, NULL));
    ck_assert_int_eq(store_delete(st, "r", 1, 0, NULL), STORE_OK);
    /* back into the first segment: the reference moves to it */
    reply_rollback(r, mark + 10);
    ck_assert_uint_eq(reply_pending(r), 14);
    ck_assert_uint_eq(used_chunks_all(st), 2);
    size_t got;
    char *bytes = reply_bytes(r, &got);
    ck_assert(memcmp(bytes + 4, v, 10) == 0);
    free(bytes);
    reply_consumed(r, 13);
    ck_assert_uint_eq(used_chunks_all(st), 2);
    reply_consumed(r, 1);
    ck_assert_uint_eq(used_chunks_all(st), 0);
    /* a whole value rolled back gives its reference back */
    ck_assert_int_eq(put(st, "r", v, n), STORE_OK);
    mark = reply_mark(r);
    reply_add_value(r, store_get(st, "r", 1, NULL));
    ck_assert_int_eq(store_delete(st, "r", 1, 0, NULL), STORE_OK);
    reply_rollback(r, mark);
    ck_assert_uint_eq(used_chunks_all(st), 0);
    /* and a reply cleared with a value pending */
    ck_assert_int_eq(put(st, "r", v, n), STORE_OK);
    reply_add_value(r, store_get(st, "r", 1, NULL));
    ck_assert_int_eq(store_delete(st, "r", 1, 0, NULL), STORE_OK);
    reply_clear(r);
    ck_assert_uint_eq(used_chunks_all(st), 0);
    reply_free(r);
    free(v);
}
END_TEST

START_TEST(test_chunk_max_config)
{
    struct store_config c;
    char err[256];
    store_config_defaults(&c);
    c.chunk_max = 80;                  /* below the smallest class (88) */
    ck_assert_ptr_null(store_create(&c, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "slab_chunk_max"));
    c.chunk_max = MB + 8;
    ck_assert_ptr_null(store_create(&c, err, sizeof(err)));
    c.chunk_max = 4100;                /* not a multiple of 8 */
    ck_assert_ptr_null(store_create(&c, err, sizeof(err)));
    /* the page itself: everything is plain, as before chains */
    store *s = mk(8 * MB, MB, MB);
    ck_assert_uint_eq(store_class_chunk_size(s, store_class_count(s)), MB);
    size_t n = MB - HDR - 1;
    char *v = pattern(n, 13);
    ck_assert_int_eq(put(s, "w", v, n), STORE_OK);
    item *it = store_get(s, "w", 1, NULL);
    ck_assert(!item_is_chained(it));
    check_bytes(s, it, v, n);
    store_release(s, it);
    store_destroy(s);
    /* small chunks: a long chain */
    s = mk(8 * MB, MB, 4 * KB);
    ck_assert_uint_eq(store_class_chunk_size(s, store_class_count(s)), 4 * KB);
    ck_assert_int_eq(put(s, "w", v, n), STORE_OK);
    check_key(s, "w", v, n);
    unsigned lc;
    uint64_t lb;
    ck_assert_uint_eq(mem_requested_all(s), expected_cost(s, 1, n, &lc, &lb));
    store_destroy(s);
    free(v);
}
END_TEST

/* ---- threads: replacing and reading the same chained keys ---- */

#define THREAD_KEYS 4
#define THREAD_SIZES 3
static const size_t thread_sizes[THREAD_SIZES] = { 520 * KB, 700 * KB, 1000 * KB };
static char *thread_values[THREAD_SIZES];

/* Each value's first byte says which size it is, so a reader checks it whole. */
static void *thread_writer(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    char key[8];
    for (int i = 0; i < THREAD_ROUNDS; i++) {
        unsigned which = (seed + (unsigned)i) % THREAD_SIZES;
        snprintf(key, sizeof(key), "t%u", (seed * 7 + (unsigned)i) % THREAD_KEYS);
        enum store_result r = put(st, key, thread_values[which], thread_sizes[which]);
        ck_assert(r == STORE_OK || r == STORE_NO_MEMORY);
    }
    return NULL;
}

static void *thread_reader(void *arg)
{
    (void)arg;
    char key[8];
    for (int i = 0; i < THREAD_ROUNDS; i++) {
        snprintf(key, sizeof(key), "t%d", i % THREAD_KEYS);
        item *it = store_get(st, key, strlen(key), NULL);
        if (it == NULL)
            continue;
        unsigned which;
        for (which = 0; which < THREAD_SIZES; which++)
            if (thread_sizes[which] == item_nvalue(it))
                break;
        ck_assert_uint_lt(which, THREAD_SIZES);
        check_bytes(st, it, thread_values[which], thread_sizes[which]);
        store_release(st, it);
    }
    return NULL;
}

START_TEST(test_threads_replace_read)
{
    for (unsigned i = 0; i < THREAD_SIZES; i++)
        thread_values[i] = pattern(thread_sizes[i], i + 20);
    pthread_t t[4];
    pthread_create(&t[0], NULL, thread_writer, (void *)(uintptr_t)1);
    pthread_create(&t[1], NULL, thread_writer, (void *)(uintptr_t)2);
    pthread_create(&t[2], NULL, thread_reader, NULL);
    pthread_create(&t[3], NULL, thread_reader, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREAD_KEYS; i++) {
        char key[8];
        snprintf(key, sizeof(key), "t%d", i);
        store_delete(st, key, strlen(key), 0, NULL);
    }
    ck_assert_uint_eq(used_chunks_all(st), 0);
    for (unsigned i = 0; i < THREAD_SIZES; i++)
        free(thread_values[i]);
}
END_TEST

static Suite *chain_suite(void)
{
    Suite *s = suite_create("chain");
    TCase *tc = tcase_create("chain");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_boundaries);
    tcase_add_test(tc, test_total_size_and_flags);
    tcase_add_test(tc, test_append_prepend_across);
    tcase_add_test(tc, test_incr_chained);
    tcase_add_test(tc, test_eviction_pressure);
    tcase_add_test(tc, test_no_evict_fails_clean);
    tcase_add_test(tc, test_spill_every_size);
    tcase_add_test(tc, test_reply_segments);
    tcase_add_test(tc, test_reply_rollback_into_value);
    tcase_add_test(tc, test_chunk_max_config);
    tcase_add_test(tc, test_threads_replace_read);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(chain_suite());
}
