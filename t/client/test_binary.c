/*
 * test_binary: the binary protocol, first through libmemcached with
 * MEMCACHED_BEHAVIOR_BINARY_PROTOCOL on (every operation an application
 * uses, quiet pipelines, a 100-key multi-get, empty and large values), then
 * a few frames over a raw socket compared byte for byte.
 *
 * The expected bytes are those of memcached 1.6.18. The one field that
 * legitimately differs between servers is the CAS value of a response: the
 * raw checks require it non-zero where memcached sends one and zero where it
 * sends zero, and compare every other byte exactly.
 *
 * Most tests share one server (unchecked fixture) and use their own keys.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <libmemcached/memcached.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define BN_TIMEOUT_S 30
#define BN_MGET_KEYS 100
#define BN_QUIET_N 300
#define BN_BUFFERED_N 100
#define BN_LARGE_BYTES (500 * 1024)
#define BN_FLUSH_DELAY_S 3
#define BN_FLUSH_WAIT_MS ((BN_FLUSH_DELAY_S + 2) * 1000)
#define BN_POLL_MS 100
#define BN_PAST_EXPTIME 1000000000   /* 2001-09-09: absolute, in the past */
#define BN_CHUNK_ALIGN 8

/* Binary protocol framing (protocol_binary.h in memcached's terms). */
#define BN_MAGIC_REQ 0x80
#define BN_MAGIC_RES 0x81
#define BN_HEADER_LEN 24
#define BN_CAS_OFFSET 16
#define BN_FRAME_MAX 512

enum bn_opcode {
    BN_OP_GET = 0x00,
    BN_OP_SET = 0x01,
    BN_OP_INCR = 0x05,
    BN_OP_GETQ = 0x09,
    BN_OP_NOOP = 0x0a,
    BN_OP_VERSION = 0x0b,
    BN_OP_GETK = 0x0c,
    BN_OP_GETKQ = 0x0d,
    BN_OP_SETQ = 0x11,
    BN_OP_ADDQ = 0x12,
    BN_OP_DELETEQ = 0x14,
    BN_OP_INCRQ = 0x15,
    BN_OP_TOUCH = 0x1c,
    BN_OP_GAT = 0x1d,
    BN_OP_GATQ = 0x1e,
    BN_OP_UNKNOWN = 0x3f,
};

enum bn_status {
    BN_ST_OK = 0x0000,
    BN_ST_NOT_FOUND = 0x0001,
    BN_ST_EXISTS = 0x0002,
    BN_ST_NON_NUMERIC = 0x0006,
    BN_ST_UNKNOWN_COMMAND = 0x0081,
};

/* Marks an expected response whose CAS is "any non-zero value". */
#define BN_ANY_CAS UINT64_MAX

struct h_server hc_srv;

static void bn_setup(void)
{
    HC_START(NULL);
}

static void bn_teardown(void)
{
    h_server_stop(&hc_srv);
}

static memcached_st *bn_new(int port)
{
    memcached_st *mc = memcached_create(NULL);
    ck_assert_ptr_nonnull(mc);
    ck_assert_int_eq(memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1),
                     MEMCACHED_SUCCESS);
    ck_assert_int_eq(memcached_server_add(mc, "127.0.0.1", (in_port_t)port),
                     MEMCACHED_SUCCESS);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, H_IO_TIMEOUT_MS);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, H_IO_TIMEOUT_MS);
    return mc;
}

#define BN_OK(mc, call) do {                                                  \
        memcached_return_t bn_rc_ = (call);                                   \
        ck_assert_msg(bn_rc_ == MEMCACHED_SUCCESS, "%s: %s", #call,           \
                      memcached_last_error_message(mc));                      \
    } while (0)

#define BN_RC(mc, call, want) do {                                            \
        memcached_return_t bn_rc_ = (call);                                   \
        ck_assert_msg(bn_rc_ == (want), "%s: got %s, want %s", #call,         \
                      memcached_strerror(mc, bn_rc_), memcached_strerror(mc, want)); \
    } while (0)

static memcached_return_t bn_set(memcached_st *mc, const char *k, const char *v,
                                 uint32_t flags)
{
    return memcached_set(mc, k, strlen(k), v, strlen(v), 0, flags);
}

/* Asserts key holds exactly want (NULL: absent) with want_flags. */
static void bn_expect(memcached_st *mc, const char *k, const char *want, uint32_t want_flags)
{
    size_t len = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    char *v = memcached_get(mc, k, strlen(k), &len, &flags, &rc);
    if (want == NULL) {
        ck_assert_msg(rc == MEMCACHED_NOTFOUND && v == NULL, "get %s: %s, want NOTFOUND", k,
                      memcached_strerror(mc, rc));
        return;
    }
    ck_assert_msg(rc == MEMCACHED_SUCCESS, "get %s: %s", k, memcached_strerror(mc, rc));
    ck_assert_msg(len == strlen(want) && (len == 0 || memcmp(v, want, len) == 0),
                  "get %s: got \"%.*s\", want \"%s\"", k, (int)len, v ? v : "", want);
    ck_assert_uint_eq(flags, want_flags);
    free(v);
}

static uint64_t bn_cas_of(memcached_st *mc, const char *k)
{
    const char *keys[] = { k };
    size_t lens[] = { strlen(k) };
    memcached_return_t rc;
    BN_OK(mc, memcached_mget(mc, keys, lens, 1));
    memcached_result_st *res = memcached_fetch_result(mc, NULL, &rc);
    ck_assert_msg(res != NULL, "mget %s: %s", k, memcached_strerror(mc, rc));
    uint64_t cas = memcached_result_cas(res);
    memcached_result_free(res);
    while ((res = memcached_fetch_result(mc, NULL, &rc)) != NULL)
        memcached_result_free(res);
    return cas;
}

static long long bn_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------- libmemcached */

START_TEST(set_get)
{
    memcached_st *mc = bn_new(hc_srv.port);
    BN_OK(mc, bn_set(mc, "b-sg", "value", 7));
    bn_expect(mc, "b-sg", "value", 7);
    BN_OK(mc, bn_set(mc, "b-sg", "other", 0xfffffffe));
    bn_expect(mc, "b-sg", "other", 0xfffffffe);
    bn_expect(mc, "b-sg-missing", NULL, 0);
    memcached_free(mc);
}
END_TEST

START_TEST(add_replace)
{
    memcached_st *mc = bn_new(hc_srv.port);
    BN_OK(mc, memcached_add(mc, "b-ar", 4, "one", 3, 0, 1));
    /* binary ADD on an existing key answers "exists" */
    memcached_return_t rc = memcached_add(mc, "b-ar", 4, "two", 3, 0, 0);
    ck_assert_msg(rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS,
                  "add over existing: %s", memcached_strerror(mc, rc));
    bn_expect(mc, "b-ar", "one", 1);
    BN_OK(mc, memcached_replace(mc, "b-ar", 4, "three", 5, 0, 4));
    bn_expect(mc, "b-ar", "three", 4);
    BN_RC(mc, memcached_replace(mc, "b-ar-none", 9, "x", 1, 0, 0), MEMCACHED_NOTFOUND);
    bn_expect(mc, "b-ar-none", NULL, 0);
    memcached_free(mc);
}
END_TEST

START_TEST(append_prepend)
{
    memcached_st *mc = bn_new(hc_srv.port);
    BN_OK(mc, bn_set(mc, "b-ap", "mid", 5));
    BN_OK(mc, memcached_append(mc, "b-ap", 4, "-end", 4, 0, 0));
    BN_OK(mc, memcached_prepend(mc, "b-ap", 4, "start-", 6, 0, 0));
    bn_expect(mc, "b-ap", "start-mid-end", 5);
    BN_RC(mc, memcached_append(mc, "b-ap-none", 9, "x", 1, 0, 0), MEMCACHED_NOTSTORED);
    BN_RC(mc, memcached_prepend(mc, "b-ap-none", 9, "x", 1, 0, 0), MEMCACHED_NOTSTORED);
    bn_expect(mc, "b-ap-none", NULL, 0);
    memcached_free(mc);
}
END_TEST

START_TEST(cas)
{
    memcached_st *mc = bn_new(hc_srv.port);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
    BN_OK(mc, bn_set(mc, "b-cs", "v1", 0));
    uint64_t c1 = bn_cas_of(mc, "b-cs");
    ck_assert(c1 != 0);
    BN_OK(mc, memcached_cas(mc, "b-cs", 4, "v2", 2, 0, 9, c1));
    bn_expect(mc, "b-cs", "v2", 9);
    BN_RC(mc, memcached_cas(mc, "b-cs", 4, "v3", 2, 0, 0, c1), MEMCACHED_DATA_EXISTS);
    bn_expect(mc, "b-cs", "v2", 9);
    uint64_t c2 = bn_cas_of(mc, "b-cs");
    ck_assert(c2 != 0 && c2 != c1);
    BN_OK(mc, memcached_cas(mc, "b-cs", 4, "v4", 2, 0, 0, c2));
    bn_expect(mc, "b-cs", "v4", 0);
    BN_RC(mc, memcached_cas(mc, "b-cs-none", 9, "v", 1, 0, 0, c2), MEMCACHED_NOTFOUND);
    memcached_free(mc);
}
END_TEST

START_TEST(incr_decr)
{
    memcached_st *mc = bn_new(hc_srv.port);
    uint64_t v = 0;
    BN_OK(mc, bn_set(mc, "b-ctr", "10", 0));
    BN_OK(mc, memcached_increment(mc, "b-ctr", 5, 5, &v));
    ck_assert_uint_eq(v, 15);
    BN_OK(mc, memcached_decrement(mc, "b-ctr", 5, 6, &v));
    ck_assert_uint_eq(v, 9);
    BN_OK(mc, memcached_decrement(mc, "b-ctr", 5, 100, &v));
    ck_assert_uint_eq(v, 0);
    BN_OK(mc, bn_set(mc, "b-wrap", "18446744073709551615", 0));
    BN_OK(mc, memcached_increment(mc, "b-wrap", 6, 2, &v));
    ck_assert_uint_eq(v, 1);
    /* without an initial value a missing key stays missing */
    BN_RC(mc, memcached_increment(mc, "b-ctr-none", 10, 1, &v), MEMCACHED_NOTFOUND);
    BN_RC(mc, memcached_decrement(mc, "b-ctr-none", 10, 1, &v), MEMCACHED_NOTFOUND);
    bn_expect(mc, "b-ctr-none", NULL, 0);
    BN_OK(mc, bn_set(mc, "b-text", "abc", 0));
    memcached_return_t rc = memcached_increment(mc, "b-text", 6, 1, &v);
    ck_assert_msg(rc != MEMCACHED_SUCCESS, "incr of non-numeric succeeded");
    bn_expect(mc, "b-text", "abc", 0);
    memcached_free(mc);
}
END_TEST

START_TEST(incr_with_initial)
{
    memcached_st *mc = bn_new(hc_srv.port);
    uint64_t v = 0;
    /* a missing key is created with the initial value, not incremented */
    BN_OK(mc, memcached_increment_with_initial(mc, "b-ini", 5, 3, 100, 0, &v));
    ck_assert_uint_eq(v, 100);
    bn_expect(mc, "b-ini", "100", 0);
    BN_OK(mc, memcached_increment_with_initial(mc, "b-ini", 5, 3, 100, 0, &v));
    ck_assert_uint_eq(v, 103);
    BN_OK(mc, memcached_decrement_with_initial(mc, "b-ini", 5, 50, 7, 0, &v));
    ck_assert_uint_eq(v, 53);
    BN_OK(mc, memcached_decrement_with_initial(mc, "b-dini", 6, 4, 20, 0, &v));
    ck_assert_uint_eq(v, 20);
    BN_OK(mc, memcached_decrement_with_initial(mc, "b-dini", 6, 4, 20, 0, &v));
    ck_assert_uint_eq(v, 16);
    bn_expect(mc, "b-dini", "16", 0);
    memcached_free(mc);
}
END_TEST

START_TEST(delete_touch)
{
    memcached_st *mc = bn_new(hc_srv.port);
    BN_OK(mc, bn_set(mc, "b-del", "x", 0));
    BN_OK(mc, memcached_delete(mc, "b-del", 5, 0));
    bn_expect(mc, "b-del", NULL, 0);
    BN_RC(mc, memcached_delete(mc, "b-del", 5, 0), MEMCACHED_NOTFOUND);

    BN_OK(mc, bn_set(mc, "b-tch", "y", 3));
    BN_OK(mc, memcached_touch(mc, "b-tch", 5, 100));
    bn_expect(mc, "b-tch", "y", 3);
    BN_RC(mc, memcached_touch(mc, "b-tch-none", 10, 100), MEMCACHED_NOTFOUND);
    /*
     * Binary exptime is unsigned: -1 is a far future. An absolute time
     * before the server started expires the item at once.
     */
    BN_OK(mc, memcached_touch(mc, "b-tch", 5, -1));
    bn_expect(mc, "b-tch", "y", 3);
    BN_OK(mc, memcached_touch(mc, "b-tch", 5, BN_PAST_EXPTIME));
    bn_expect(mc, "b-tch", NULL, 0);
    memcached_free(mc);
}
END_TEST

START_TEST(flush)
{
    memcached_st *mc = bn_new(hc_srv.port);
    BN_OK(mc, bn_set(mc, "b-fl1", "x", 0));
    BN_OK(mc, memcached_flush(mc, 0));
    bn_expect(mc, "b-fl1", NULL, 0);

    BN_OK(mc, bn_set(mc, "b-fl2", "y", 0));
    long long t0 = bn_ms();
    BN_OK(mc, memcached_flush(mc, BN_FLUSH_DELAY_S));
    bn_expect(mc, "b-fl2", "y", 0);
    size_t len;
    uint32_t fl;
    memcached_return_t rc = MEMCACHED_SUCCESS;
    while (rc == MEMCACHED_SUCCESS && bn_ms() - t0 < BN_FLUSH_WAIT_MS) {
        free(memcached_get(mc, "b-fl2", 5, &len, &fl, &rc));
        if (rc == MEMCACHED_SUCCESS)
            usleep(BN_POLL_MS * 1000);
    }
    ck_assert_msg(rc == MEMCACHED_NOTFOUND, "b-fl2 still there %lld ms after flush %d",
                  bn_ms() - t0, BN_FLUSH_DELAY_S);
    /* memcached's clock ticks in whole seconds: N may act after N - 2 s */
    ck_assert_msg(bn_ms() - t0 >= (BN_FLUSH_DELAY_S - 2) * 1000,
                  "delayed flush took effect after %lld ms", bn_ms() - t0);
    memcached_free(mc);
}
END_TEST

START_TEST(version_verbosity)
{
    memcached_st *mc = bn_new(hc_srv.port);
    BN_OK(mc, memcached_version(mc));
    const memcached_instance_st *in = memcached_server_instance_by_position(mc, 0);
    ck_assert_uint_eq(memcached_server_major_version(in), 1);
    ck_assert_uint_eq(memcached_server_minor_version(in), 6);
    BN_OK(mc, memcached_verbosity(mc, 1));
    BN_OK(mc, memcached_verbosity(mc, 0));
    BN_OK(mc, bn_set(mc, "b-vv", "ok", 0));
    bn_expect(mc, "b-vv", "ok", 0);
    memcached_free(mc);
}
END_TEST

START_TEST(stat_plain)
{
    memcached_st *mc = bn_new(hc_srv.port);
    BN_OK(mc, bn_set(mc, "b-st", "x", 0));
    bn_expect(mc, "b-st", "x", 0);
    memcached_return_t rc;
    memcached_stat_st *st = memcached_stat(mc, NULL, &rc);
    ck_assert_msg(rc == MEMCACHED_SUCCESS && st != NULL, "stat: %s",
                  memcached_strerror(mc, rc));
    ck_assert_int_eq(st[0].pid, hc_srv.pid);
    ck_assert_str_eq(st[0].version, "1.6.18");
    ck_assert_uint_ge(st[0].curr_items, 1);
    ck_assert_uint_ge(st[0].cmd_set, 1);
    ck_assert_uint_ge(st[0].get_hits, 1);
    ck_assert_uint_ge(st[0].curr_connections, 1);
    ck_assert_uint_eq(st[0].limit_maxbytes, 64ULL * 1024 * 1024);
    char *pid = memcached_stat_get_value(mc, st, "pid", &rc);
    ck_assert_ptr_nonnull(pid);
    ck_assert_int_eq(atoi(pid), hc_srv.pid);
    free(pid);
    memcached_stat_free(mc, st);
    memcached_free(mc);
}
END_TEST

#define BN_STAT_NAMES 8

/* What one `stat <group>` answered: a few names to look for, and counts. */
struct bn_stat_seen {
    const char *names[BN_STAT_NAMES];
    char values[BN_STAT_NAMES][64];
    bool found[BN_STAT_NAMES];
    int entries;
};

static memcached_return_t bn_stat_cb(const memcached_instance_st *in, const char *key,
                                     size_t klen, const char *val, size_t vlen, void *ctx)
{
    (void)in;
    struct bn_stat_seen *s = ctx;
    s->entries++;
    for (int i = 0; i < BN_STAT_NAMES && s->names[i]; i++) {
        if (strlen(s->names[i]) == klen && memcmp(s->names[i], key, klen) == 0) {
            s->found[i] = true;
            snprintf(s->values[i], sizeof(s->values[i]), "%.*s", (int)vlen, val);
        }
    }
    return MEMCACHED_SUCCESS;
}

static void bn_stat_group(memcached_st *mc, const char *group, struct bn_stat_seen *s)
{
    char grp[32];
    snprintf(grp, sizeof(grp), "%s", group);
    BN_OK(mc, memcached_stat_execute(mc, grp, bn_stat_cb, s));
    ck_assert_msg(s->entries > 0, "stat %s: no entries", group);
    for (int i = 0; i < BN_STAT_NAMES && s->names[i]; i++)
        ck_assert_msg(s->found[i], "stat %s: no %s", group, s->names[i]);
}

/* On a server of its own, so the item counts are known exactly. */
START_TEST(stat_groups)
{
    struct h_server srv = { 0 };
    ck_assert(h_server_start(&srv, (const char *[]){ NULL }));
    memcached_st *mc = bn_new(srv.port);
    BN_OK(mc, bn_set(mc, "b-sgr", "0123456789", 0));

    struct bn_stat_seen set = { .names = { "item_size_max", "maxbytes", "tcpport",
                                           "binding_protocol", "evictions" } };
    bn_stat_group(mc, "settings", &set);
    ck_assert_str_eq(set.values[0], "1048576");
    ck_assert_str_eq(set.values[1], "67108864");
    char port[16];
    snprintf(port, sizeof(port), "%d", srv.port);
    ck_assert_str_eq(set.values[2], port);
    ck_assert_str_eq(set.values[3], "auto-negotiate");
    ck_assert_str_eq(set.values[4], "on");

    /* one small item: one class in use, holding it */
    struct bn_stat_seen slabs = { .names = { "active_slabs", "total_malloced",
                                             "1:used_chunks", "1:chunk_size" } };
    bn_stat_group(mc, "slabs", &slabs);
    ck_assert_str_eq(slabs.values[0], "1");
    ck_assert_int_gt(atoi(slabs.values[1]), 0);
    ck_assert_str_eq(slabs.values[2], "1");
    /* the class size follows the item header, which differs between servers */
    int chunk = atoi(slabs.values[3]);
    ck_assert_msg(chunk >= 48 && chunk <= 128 && chunk % BN_CHUNK_ALIGN == 0,
                  "1:chunk_size %d", chunk);

    struct bn_stat_seen items = { .names = { "items:1:number", "items:1:evicted" } };
    bn_stat_group(mc, "items", &items);
    ck_assert_str_eq(items.values[0], "1");
    ck_assert_str_eq(items.values[1], "0");
    memcached_free(mc);
    h_server_stop(&srv);
}
END_TEST

/* With NOREPLY libmemcached sends the quiet opcodes (SetQ, DeleteQ...). */
START_TEST(quiet_pipeline)
{
    memcached_st *mc = bn_new(hc_srv.port);
    char key[32], val[32];
    BN_OK(mc, memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_NOREPLY, 1));
    for (int i = 0; i < BN_QUIET_N; i++) {
        snprintf(key, sizeof(key), "b-q%d", i);
        snprintf(val, sizeof(val), "q%d", i * 13);
        BN_OK(mc, bn_set(mc, key, val, (uint32_t)i));
    }
    BN_OK(mc, memcached_delete(mc, "b-q0", 4, 0));
    BN_OK(mc, memcached_append(mc, "b-q1", 4, "+", 1, 0, 0));
    BN_OK(mc, memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_NOREPLY, 0));
    bn_expect(mc, "b-q0", NULL, 0);
    bn_expect(mc, "b-q1", "q13+", 1);
    for (int i = 2; i < BN_QUIET_N; i++) {
        snprintf(key, sizeof(key), "b-q%d", i);
        snprintf(val, sizeof(val), "q%d", i * 13);
        bn_expect(mc, key, val, (uint32_t)i);
    }
    memcached_free(mc);
}
END_TEST

/* BUFFER_REQUESTS holds the sets back until a read flushes them. */
START_TEST(buffered_requests)
{
    memcached_st *mc = bn_new(hc_srv.port);
    char key[32], val[32];
    BN_OK(mc, memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BUFFER_REQUESTS, 1));
    for (int i = 0; i < BN_BUFFERED_N; i++) {
        snprintf(key, sizeof(key), "b-buf%d", i);
        snprintf(val, sizeof(val), "buf%d", i * 5);
        memcached_return_t rc = bn_set(mc, key, val, 0);
        ck_assert_msg(rc == MEMCACHED_BUFFERED || rc == MEMCACHED_SUCCESS,
                      "buffered set: %s", memcached_strerror(mc, rc));
    }
    BN_OK(mc, memcached_flush_buffers(mc));
    for (int i = 0; i < BN_BUFFERED_N; i++) {
        snprintf(key, sizeof(key), "b-buf%d", i);
        snprintf(val, sizeof(val), "buf%d", i * 5);
        bn_expect(mc, key, val, 0);
    }
    memcached_free(mc);
}
END_TEST

START_TEST(mget_100)
{
    memcached_st *mc = bn_new(hc_srv.port);
    char kbuf[BN_MGET_KEYS][16];
    const char *keys[BN_MGET_KEYS + 1];
    size_t lens[BN_MGET_KEYS + 1];
    bool seen[BN_MGET_KEYS] = { false };
    for (int i = 0; i < BN_MGET_KEYS; i++) {
        char val[32];
        snprintf(kbuf[i], sizeof(kbuf[i]), "b-mg%d", i);
        snprintf(val, sizeof(val), "value-%d", i * 7);
        keys[i] = kbuf[i];
        lens[i] = strlen(kbuf[i]);
        BN_OK(mc, bn_set(mc, kbuf[i], val, (uint32_t)i));
    }
    /* one missing key among them: silently absent from the results */
    keys[BN_MGET_KEYS] = "b-mg-missing";
    lens[BN_MGET_KEYS] = strlen(keys[BN_MGET_KEYS]);
    BN_OK(mc, memcached_mget(mc, keys, lens, BN_MGET_KEYS + 1));
    memcached_result_st *res;
    memcached_return_t rc;
    int n = 0;
    while ((res = memcached_fetch_result(mc, NULL, &rc)) != NULL) {
        ck_assert_uint_gt(memcached_result_key_length(res), 4);
        int i = atoi(memcached_result_key_value(res) + 4);
        char want[32];
        snprintf(want, sizeof(want), "value-%d", i * 7);
        ck_assert(i >= 0 && i < BN_MGET_KEYS && !seen[i]);
        seen[i] = true;
        ck_assert_uint_eq(memcached_result_length(res), strlen(want));
        ck_assert(memcmp(memcached_result_value(res), want, strlen(want)) == 0);
        ck_assert_uint_eq(memcached_result_flags(res), (uint32_t)i);
        ck_assert(memcached_result_cas(res) != 0);
        memcached_result_free(res);
        n++;
    }
    ck_assert_int_eq(n, BN_MGET_KEYS);
    memcached_free(mc);
}
END_TEST

START_TEST(empty_and_large)
{
    memcached_st *mc = bn_new(hc_srv.port);
    BN_OK(mc, memcached_set(mc, "b-empty", 7, "", 0, 0, 3));
    bn_expect(mc, "b-empty", "", 3);

    char *big = malloc(BN_LARGE_BYTES);
    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < BN_LARGE_BYTES; i++)
        big[i] = (char)('a' + (i * 7 + i / 1000) % 26);
    BN_OK(mc, memcached_set(mc, "b-large", 7, big, BN_LARGE_BYTES, 0, 11));
    size_t len = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    char *v = memcached_get(mc, "b-large", 7, &len, &flags, &rc);
    ck_assert_msg(rc == MEMCACHED_SUCCESS, "get b-large: %s", memcached_strerror(mc, rc));
    ck_assert_uint_eq(len, BN_LARGE_BYTES);
    ck_assert_uint_eq(flags, 11);
    ck_assert(memcmp(v, big, BN_LARGE_BYTES) == 0);
    free(v);
    free(big);
    memcached_free(mc);
}
END_TEST

/* -------------------------------------------------------- raw frames */

/* One frame: 24-byte header (network order), extras, key, value. */
struct bn_frame {
    uint8_t magic, opcode;
    uint16_t status;        /* vbucket in a request */
    uint32_t opaque;
    uint64_t cas;
    const void *extras, *key, *value;
    size_t elen, klen, vlen;
};

static size_t bn_put(char *buf, size_t cap, const struct bn_frame *f)
{
    size_t total = BN_HEADER_LEN + f->elen + f->klen + f->vlen;
    ck_assert_uint_le(total, cap);
    uint16_t klen = htons((uint16_t)f->klen), status = htons(f->status);
    uint32_t body = htonl((uint32_t)(f->elen + f->klen + f->vlen)), opaque = htonl(f->opaque);
    uint64_t be_cas = htobe64(f->cas == BN_ANY_CAS ? 0 : f->cas);
    buf[0] = (char)f->magic;
    buf[1] = (char)f->opcode;
    memcpy(buf + 2, &klen, 2);
    buf[4] = (char)f->elen;
    buf[5] = 0;               /* data type */
    memcpy(buf + 6, &status, 2);
    memcpy(buf + 8, &body, 4);
    memcpy(buf + 12, &opaque, 4);
    memcpy(buf + BN_CAS_OFFSET, &be_cas, 8);
    size_t off = BN_HEADER_LEN;
    if (f->elen)
        memcpy(buf + off, f->extras, f->elen);
    off += f->elen;
    if (f->klen)
        memcpy(buf + off, f->key, f->klen);
    off += f->klen;
    if (f->vlen)
        memcpy(buf + off, f->value, f->vlen);
    return total;
}

/* Expected reply bytes, with the offsets of CAS fields that may hold any non-zero value. */
struct bn_expect {
    char bytes[BN_FRAME_MAX * 2];
    size_t len;
    size_t any_cas[4];
    int n_any;
};

static void bn_expect_frame(struct bn_expect *e, const struct bn_frame *f)
{
    if (f->cas == BN_ANY_CAS) {
        ck_assert_int_lt(e->n_any, 4);
        e->any_cas[e->n_any++] = e->len + BN_CAS_OFFSET;
    }
    e->len += bn_put(e->bytes + e->len, sizeof(e->bytes) - e->len, f);
}

/* Sends req, reads exactly as many bytes as expected, compares. */
static void bn_check(int fd, const char *req, size_t rlen, struct bn_expect *e)
{
    static char got[BN_FRAME_MAX * 2 + 1];
    size_t n = h_roundtrip(fd, req, rlen, got, sizeof(got), e->len, H_IO_TIMEOUT_MS);
    for (int i = 0; i < e->n_any && n == e->len; i++) {
        static const char zero[8];
        ck_assert_msg(memcmp(got + e->any_cas[i], zero, 8) != 0,
                      "response CAS at byte %zu is zero", e->any_cas[i]);
        memcpy(e->bytes + e->any_cas[i], got + e->any_cas[i], 8);
    }
    if (n == e->len && memcmp(got, e->bytes, n) == 0)
        return;
    /* h_escape has one static buffer: copy each rendering out */
    char sreq[1024], sexp[2048];
    snprintf(sreq, sizeof(sreq), "%s", h_escape(req, rlen));
    snprintf(sexp, sizeof(sexp), "%s", h_escape(e->bytes, e->len));
    ck_abort_msg("sent \"%s\": expected \"%s\", got \"%s\"", sreq, sexp, h_escape(got, n));
}

#define BN_REQ(op, ...) \
    (struct bn_frame){ .magic = BN_MAGIC_REQ, .opcode = (op), __VA_ARGS__ }
#define BN_RES(op, ...) \
    (struct bn_frame){ .magic = BN_MAGIC_RES, .opcode = (op), __VA_ARGS__ }

static const char bn_flags_beef[4] = { (char)0xde, (char)0xad, (char)0xbe, (char)0xef };

/* Stores hello under key with flags 0xdeadbeef through a raw Set. */
static void bn_raw_set(int fd, const char *key, uint32_t opaque)
{
    char req[BN_FRAME_MAX];
    static const char extras[8] = { (char)0xde, (char)0xad, (char)0xbe, (char)0xef, 0, 0, 0, 0 };
    size_t n = bn_put(req, sizeof(req), &BN_REQ(BN_OP_SET, .opaque = opaque, .extras = extras,
                                                .elen = 8, .key = key, .klen = strlen(key),
                                                .value = "hello", .vlen = 5));
    struct bn_expect e = { .len = 0 };
    bn_expect_frame(&e, &BN_RES(BN_OP_SET, .opaque = opaque, .cas = BN_ANY_CAS));
    bn_check(fd, req, n, &e);
}

/* GetQ of a missing key says nothing: the Noop after it is the only answer. */
START_TEST(raw_getq_miss_noop)
{
    int fd = hc_conn();
    char req[BN_FRAME_MAX];
    size_t n = bn_put(req, sizeof(req), &BN_REQ(BN_OP_GETQ, .opaque = 0x11223344,
                                                .key = "rb-nokey", .klen = 8));
    n += bn_put(req + n, sizeof(req) - n, &BN_REQ(BN_OP_GATQ, .opaque = 0x66,
                                                  .extras = "\0\0\0\x64", .elen = 4,
                                                  .key = "rb-nokey", .klen = 8));
    n += bn_put(req + n, sizeof(req) - n, &BN_REQ(BN_OP_NOOP, .opaque = 0x55));
    struct bn_expect e = { .len = 0 };
    bn_expect_frame(&e, &BN_RES(BN_OP_NOOP, .opaque = 0x55));
    bn_check(fd, req, n, &e);
    /* nothing else was queued behind it */
    n = bn_put(req, sizeof(req), &BN_REQ(BN_OP_NOOP, .opaque = 0x56));
    e = (struct bn_expect){ .len = 0 };
    bn_expect_frame(&e, &BN_RES(BN_OP_NOOP, .opaque = 0x56));
    bn_check(fd, req, n, &e);
    close(fd);
}
END_TEST

/* GetKQ of a present key answers with its flags, key and value. */
START_TEST(raw_getkq_hit)
{
    int fd = hc_conn();
    bn_raw_set(fd, "rb-k", 7);
    char req[BN_FRAME_MAX];
    size_t n = bn_put(req, sizeof(req), &BN_REQ(BN_OP_GETKQ, .opaque = 0x99,
                                                .key = "rb-k", .klen = 4));
    n += bn_put(req + n, sizeof(req) - n, &BN_REQ(BN_OP_GETKQ, .opaque = 0x9a,
                                                  .key = "rb-none", .klen = 7));
    n += bn_put(req + n, sizeof(req) - n, &BN_REQ(BN_OP_NOOP, .opaque = 1));
    struct bn_expect e = { .len = 0 };
    bn_expect_frame(&e, &BN_RES(BN_OP_GETKQ, .opaque = 0x99, .cas = BN_ANY_CAS,
                                .extras = bn_flags_beef, .elen = 4, .key = "rb-k", .klen = 4,
                                .value = "hello", .vlen = 5));
    bn_expect_frame(&e, &BN_RES(BN_OP_NOOP, .opaque = 1));
    bn_check(fd, req, n, &e);
    close(fd);
}
END_TEST

/* The opaque comes back unchanged, on hits, misses and errors alike. */
START_TEST(raw_opaque_echo)
{
    int fd = hc_conn();
    bn_raw_set(fd, "rb-o", 0xfeedface);
    char req[BN_FRAME_MAX];
    struct bn_expect e = { .len = 0 };

    size_t n = bn_put(req, sizeof(req), &BN_REQ(BN_OP_GET, .opaque = 0xabcdef01,
                                                .key = "rb-o", .klen = 4));
    bn_expect_frame(&e, &BN_RES(BN_OP_GET, .opaque = 0xabcdef01, .cas = BN_ANY_CAS,
                                .extras = bn_flags_beef, .elen = 4, .value = "hello",
                                .vlen = 5));
    bn_check(fd, req, n, &e);

    n = bn_put(req, sizeof(req), &BN_REQ(BN_OP_GETK, .opaque = 3, .key = "zz", .klen = 2));
    e = (struct bn_expect){ .len = 0 };
    /* GetK's miss carries the key and no message */
    bn_expect_frame(&e, &BN_RES(BN_OP_GETK, .opaque = 3, .status = BN_ST_NOT_FOUND,
                                .key = "zz", .klen = 2));
    bn_check(fd, req, n, &e);

    n = bn_put(req, sizeof(req), &BN_REQ(BN_OP_UNKNOWN, .opaque = 0x7f000006));
    e = (struct bn_expect){ .len = 0 };
    bn_expect_frame(&e, &BN_RES(BN_OP_UNKNOWN, .opaque = 0x7f000006,
                                .status = BN_ST_UNKNOWN_COMMAND, .value = "Unknown command",
                                .vlen = 15));
    bn_check(fd, req, n, &e);

    n = bn_put(req, sizeof(req), &BN_REQ(BN_OP_VERSION, .opaque = 0x0a0b0c0d));
    e = (struct bn_expect){ .len = 0 };
    bn_expect_frame(&e, &BN_RES(BN_OP_VERSION, .opaque = 0x0a0b0c0d, .value = "1.6.18",
                                .vlen = 6));
    bn_check(fd, req, n, &e);
    close(fd);
}
END_TEST

/* Touch and GAT (libmemcached has no gat) with their extras and replies. */
START_TEST(raw_touch_gat)
{
    int fd = hc_conn();
    bn_raw_set(fd, "rb-t", 2);
    char req[BN_FRAME_MAX];
    static const char ttl[4] = { 0, 0, 0, 100 };
    struct bn_expect e = { .len = 0 };
    size_t n = bn_put(req, sizeof(req), &BN_REQ(BN_OP_GAT, .opaque = 4, .extras = ttl,
                                                .elen = 4, .key = "rb-t", .klen = 4));
    bn_expect_frame(&e, &BN_RES(BN_OP_GAT, .opaque = 4, .cas = BN_ANY_CAS,
                                .extras = bn_flags_beef, .elen = 4, .value = "hello",
                                .vlen = 5));
    bn_check(fd, req, n, &e);

    n = bn_put(req, sizeof(req), &BN_REQ(BN_OP_TOUCH, .opaque = 5, .extras = ttl, .elen = 4,
                                         .key = "rb-t", .klen = 4));
    e = (struct bn_expect){ .len = 0 };
    bn_expect_frame(&e, &BN_RES(BN_OP_TOUCH, .opaque = 5, .cas = BN_ANY_CAS,
                                .extras = bn_flags_beef, .elen = 4));
    bn_check(fd, req, n, &e);

    n = bn_put(req, sizeof(req), &BN_REQ(BN_OP_GAT, .opaque = 6, .extras = ttl, .elen = 4,
                                         .key = "rb-tx", .klen = 5));
    e = (struct bn_expect){ .len = 0 };
    bn_expect_frame(&e, &BN_RES(BN_OP_GAT, .opaque = 6, .status = BN_ST_NOT_FOUND,
                                .value = "Not found", .vlen = 9));
    bn_check(fd, req, n, &e);
    close(fd);
}
END_TEST

/* Incr: create with the initial value, then add; non-numeric is status 6. */
START_TEST(raw_incr)
{
    int fd = hc_conn();
    char req[BN_FRAME_MAX];
    /* delta 1, initial 5, exptime 0 */
    static const char ex1[20] = { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5 };
    static const char ex3[20] = { 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 5 };
    static const char v5[8] = { 0, 0, 0, 0, 0, 0, 0, 5 };
    static const char v8[8] = { 0, 0, 0, 0, 0, 0, 0, 8 };
    size_t n = bn_put(req, sizeof(req), &BN_REQ(BN_OP_INCR, .opaque = 8, .extras = ex1,
                                                .elen = 20, .key = "rb-cn", .klen = 5));
    n += bn_put(req + n, sizeof(req) - n, &BN_REQ(BN_OP_INCR, .opaque = 9, .extras = ex3,
                                                  .elen = 20, .key = "rb-cn", .klen = 5));
    struct bn_expect e = { .len = 0 };
    bn_expect_frame(&e, &BN_RES(BN_OP_INCR, .opaque = 8, .cas = BN_ANY_CAS, .value = v5,
                                .vlen = 8));
    bn_expect_frame(&e, &BN_RES(BN_OP_INCR, .opaque = 9, .cas = BN_ANY_CAS, .value = v8,
                                .vlen = 8));
    bn_check(fd, req, n, &e);

    bn_raw_set(fd, "rb-tx", 10);
    n = bn_put(req, sizeof(req), &BN_REQ(BN_OP_INCR, .opaque = 11, .extras = ex1,
                                         .elen = 20, .key = "rb-tx", .klen = 5));
    static const char msg[] = "Non-numeric server-side value for incr or decr";
    e = (struct bn_expect){ .len = 0 };
    bn_expect_frame(&e, &BN_RES(BN_OP_INCR, .opaque = 11, .status = BN_ST_NON_NUMERIC,
                                .value = msg, .vlen = sizeof(msg) - 1));
    bn_check(fd, req, n, &e);
    close(fd);
}
END_TEST

/* Quiet opcodes answer only failures: a failed AddQ and a DeleteQ miss. */
START_TEST(raw_quiet_errors)
{
    int fd = hc_conn();
    char req[BN_FRAME_MAX];
    static const char extras[8] = { 0 };
    static const char incr[20] = { 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0 };
    size_t n = bn_put(req, sizeof(req), &BN_REQ(BN_OP_SETQ, .opaque = 1, .extras = extras,
                                                .elen = 8, .key = "rb-q", .klen = 4,
                                                .value = "40", .vlen = 2));
    n += bn_put(req + n, sizeof(req) - n, &BN_REQ(BN_OP_ADDQ, .opaque = 2, .extras = extras,
                                                  .elen = 8, .key = "rb-q", .klen = 4,
                                                  .value = "x", .vlen = 1));
    n += bn_put(req + n, sizeof(req) - n, &BN_REQ(BN_OP_INCRQ, .opaque = 3, .extras = incr,
                                                  .elen = 20, .key = "rb-q", .klen = 4));
    n += bn_put(req + n, sizeof(req) - n, &BN_REQ(BN_OP_DELETEQ, .opaque = 4,
                                                  .key = "rb-none", .klen = 7));
    n += bn_put(req + n, sizeof(req) - n, &BN_REQ(BN_OP_GETQ, .opaque = 5,
                                                  .key = "rb-q", .klen = 4));
    n += bn_put(req + n, sizeof(req) - n, &BN_REQ(BN_OP_NOOP, .opaque = 6));
    static const char exists[] = "Data exists for key.";
    struct bn_expect e = { .len = 0 };
    bn_expect_frame(&e, &BN_RES(BN_OP_ADDQ, .opaque = 2, .status = BN_ST_EXISTS,
                                .value = exists, .vlen = sizeof(exists) - 1));
    bn_expect_frame(&e, &BN_RES(BN_OP_DELETEQ, .opaque = 4, .status = BN_ST_NOT_FOUND,
                                .value = "Not found", .vlen = 9));
    bn_expect_frame(&e, &BN_RES(BN_OP_GETQ, .opaque = 5, .cas = BN_ANY_CAS,
                                .extras = "\0\0\0\0", .elen = 4, .value = "42", .vlen = 2));
    bn_expect_frame(&e, &BN_RES(BN_OP_NOOP, .opaque = 6));
    bn_check(fd, req, n, &e);
    close(fd);
}
END_TEST

static Suite *bn_suite(void)
{
    Suite *s = suite_create("binary");
    TCase *tc = tcase_create("libmemcached");
    tcase_add_unchecked_fixture(tc, bn_setup, bn_teardown);
    tcase_set_timeout(tc, BN_TIMEOUT_S);
    tcase_add_test(tc, set_get);
    tcase_add_test(tc, add_replace);
    tcase_add_test(tc, append_prepend);
    tcase_add_test(tc, cas);
    tcase_add_test(tc, incr_decr);
    tcase_add_test(tc, incr_with_initial);
    tcase_add_test(tc, delete_touch);
    tcase_add_test(tc, version_verbosity);
    tcase_add_test(tc, stat_plain);
    tcase_add_test(tc, stat_groups);
    tcase_add_test(tc, quiet_pipeline);
    tcase_add_test(tc, buffered_requests);
    tcase_add_test(tc, mget_100);
    tcase_add_test(tc, empty_and_large);
    tcase_add_test(tc, flush);
    suite_add_tcase(s, tc);

    TCase *tr = tcase_create("raw");
    tcase_add_unchecked_fixture(tr, bn_setup, bn_teardown);
    tcase_set_timeout(tr, BN_TIMEOUT_S);
    tcase_add_test(tr, raw_getq_miss_noop);
    tcase_add_test(tr, raw_getkq_hit);
    tcase_add_test(tr, raw_opaque_echo);
    tcase_add_test(tr, raw_touch_gat);
    tcase_add_test(tr, raw_incr);
    tcase_add_test(tr, raw_quiet_errors);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(bn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
