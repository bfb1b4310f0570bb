/*
 * test_memcached: the server driven through libmemcached, the way
 * applications use it, over both protocols.
 *
 * Every operation test is a loop test over mc_protos: iteration MC_ASCII
 * speaks the text protocol, MC_BINARY sets MEMCACHED_BEHAVIOR_BINARY_PROTOCOL
 * (libmemcached then sends the quiet opcodes for NOREPLY). One body asserts
 * what both protocols share; where they answer differently (a failed replace,
 * a negative touch exptime) the body asserts each protocol's own answer.
 * Operations only one protocol has (increment_with_initial: binary; the
 * value-size rule: ascii) are plain tests. Raw binary frames, compared byte
 * for byte, are in test_binary.c.
 *
 * Most tests share one server (unchecked fixture); each protocol's keys carry
 * its own prefix (mc_key) so the two iterations never see each other's data.
 * stat_groups and the value-size tests start servers of their own. The size
 * rule asserted on both servers: with item_size_max P (from `stats settings`)
 * the largest storable value L for a key of length K satisfies
 * L + K + overhead = P with one overhead for all K and P, 0 < overhead <= 100;
 * a value one byte longer is refused with the connection still usable.
 */
#include <libmemcached/memcached.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define MC_TIMEOUT_S 60
#define MC_MGET_KEYS 100
#define MC_CONNS 200
#define MC_CONN_THREADS 8
#define MC_NOREPLY_N 500
#define MC_BUFFERED_N 100
#define MC_LARGE_BYTES (500 * 1024)
#define MC_FLUSH_DELAY_S 3
#define MC_FLUSH_WAIT_MS ((MC_FLUSH_DELAY_S + 2) * 1000)
#define MC_POLL_MS 100
#define MC_PAST_EXPTIME 1000000000   /* 2001-09-09: absolute, in the past */
#define MC_CHUNK_ALIGN 8
#define MC_HEADER_MAX 100
#define MC_SMALL_PAGE "64k"
#define MC_SMALL_PAGE_BYTES (64 * 1024)
#define MC_DEFAULT_PAGE_BYTES (1024 * 1024)
#define MC_MAXBYTES (64ULL * 1024 * 1024)
#define MC_KEY_RING 8
#define MC_KEY_MAX 64

/* The protocols every loop test runs over; the loop index selects one. */
enum { MC_ASCII, MC_BINARY, MC_NPROTOS };

static const struct mc_proto {
    const char *name;
    bool binary;
    const char *prefix;     /* of every key the iteration uses */
} mc_protos[MC_NPROTOS] = {
    [MC_ASCII] = { "ascii", false, "a-" },
    [MC_BINARY] = { "binary", true, "b-" },
};

struct h_server hc_srv;

static void mc_setup(void)
{
    HC_START(NULL);
}

static void mc_teardown(void)
{
    h_server_stop(&hc_srv);
}

/* A client of port speaking protocol proto. */
static memcached_st *mc_new(int proto, int port)
{
    memcached_st *mc = memcached_create(NULL);
    ck_assert_ptr_nonnull(mc);
    ck_assert_int_eq(memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL,
                                            mc_protos[proto].binary),
                     MEMCACHED_SUCCESS);
    ck_assert_int_eq(memcached_server_add(mc, "127.0.0.1", (in_port_t)port),
                     MEMCACHED_SUCCESS);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, H_IO_TIMEOUT_MS);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, H_IO_TIMEOUT_MS);
    return mc;
}

/* name under proto's prefix; valid for the next MC_KEY_RING - 1 calls. */
static const char *mc_key(int proto, const char *name)
{
    static char ring[MC_KEY_RING][MC_KEY_MAX];
    static unsigned next;
    char *k = ring[next++ % MC_KEY_RING];
    snprintf(k, MC_KEY_MAX, "%s%s", mc_protos[proto].prefix, name);
    return k;
}

/* Inside a loop test: the key for name, and a key with its length. */
#define K(name) mc_key(_i, (name))
#define KL(k) (k), strlen(k)

#define MC_OK(mc, call) do {                                                  \
        memcached_return_t mc_rc_ = (call);                                   \
        ck_assert_msg(mc_rc_ == MEMCACHED_SUCCESS, "%s: %s", #call,           \
                      memcached_last_error_message(mc));                      \
    } while (0)

#define MC_RC(mc, call, want) do {                                            \
        memcached_return_t mc_rc_ = (call);                                   \
        ck_assert_msg(mc_rc_ == (want), "%s: got %s, want %s", #call,         \
                      memcached_strerror(mc, mc_rc_), memcached_strerror(mc, want)); \
    } while (0)

static memcached_return_t mc_set(memcached_st *mc, const char *k, const char *v,
                                 uint32_t flags)
{
    return memcached_set(mc, k, strlen(k), v, strlen(v), 0, flags);
}

/* Asserts key holds exactly want (NULL: absent) with want_flags. */
static void mc_expect(memcached_st *mc, const char *k, const char *want,
                      uint32_t want_flags)
{
    size_t len = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    char *v = memcached_get(mc, k, strlen(k), &len, &flags, &rc);
    if (want == NULL) {
        ck_assert_msg(rc == MEMCACHED_NOTFOUND && v == NULL, "%s: %s, want NOTFOUND", k,
                      memcached_strerror(mc, rc));
        return;
    }
    ck_assert_msg(rc == MEMCACHED_SUCCESS, "get %s: %s", k, memcached_strerror(mc, rc));
    ck_assert_msg(len == strlen(want) && (len == 0 || memcmp(v, want, len) == 0),
                  "get %s: got \"%.*s\", want \"%s\"", k, (int)len, v ? v : "", want);
    ck_assert_uint_eq(flags, want_flags);
    free(v);
}

/*
 * A counter read back: a decr that shortens the number may leave trailing
 * spaces (protocol.txt allows the padding), so compare without them.
 */
static void mc_expect_number(memcached_st *mc, const char *k, const char *want)
{
    size_t len = 0;
    uint32_t flags;
    memcached_return_t rc;
    char *v = memcached_get(mc, k, strlen(k), &len, &flags, &rc);
    ck_assert_msg(rc == MEMCACHED_SUCCESS && v != NULL, "get %s: %s", k,
                  memcached_strerror(mc, rc));
    while (len > 0 && v[len - 1] == ' ')
        len--;
    ck_assert_msg(len == strlen(want) && memcmp(v, want, len) == 0,
                  "get %s: got \"%.*s\", want \"%s\"", k, (int)len, v, want);
    free(v);
}

START_TEST(set_get)
{
    memcached_st *mc = mc_new(_i, hc_srv.port);
    const char *sg = K("sg"), *empty = K("empty");
    MC_OK(mc, mc_set(mc, sg, "value", 7));
    mc_expect(mc, sg, "value", 7);
    MC_OK(mc, mc_set(mc, sg, "other", 0));
    mc_expect(mc, sg, "other", 0);
    MC_OK(mc, mc_set(mc, sg, "other", 0xfffffffe));
    mc_expect(mc, sg, "other", 0xfffffffe);
    mc_expect(mc, K("sg-missing"), NULL, 0);
    MC_OK(mc, mc_set(mc, empty, "", 3));
    mc_expect(mc, empty, "", 3);
    memcached_free(mc);
}
END_TEST

START_TEST(add_replace)
{
    memcached_st *mc = mc_new(_i, hc_srv.port);
    const char *ar = K("ar"), *none = K("ar-none");
    MC_OK(mc, memcached_add(mc, KL(ar), "one", 3, 0, 1));
    memcached_return_t rc = memcached_add(mc, KL(ar), "two", 3, 0, 0);
    if (mc_protos[_i].binary)   /* binary ADD on an existing key answers "exists" */
        ck_assert_msg(rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS,
                      "add over existing: %s", memcached_strerror(mc, rc));
    else
        MC_RC(mc, rc, MEMCACHED_NOTSTORED);
    mc_expect(mc, ar, "one", 1);
    MC_OK(mc, memcached_replace(mc, KL(ar), "three", 5, 0, 4));
    mc_expect(mc, ar, "three", 4);
    MC_RC(mc, memcached_replace(mc, KL(none), "x", 1, 0, 0),
          mc_protos[_i].binary ? MEMCACHED_NOTFOUND : MEMCACHED_NOTSTORED);
    mc_expect(mc, none, NULL, 0);
    memcached_free(mc);
}
END_TEST

START_TEST(append_prepend)
{
    memcached_st *mc = mc_new(_i, hc_srv.port);
    const char *ap = K("ap"), *none = K("ap-none");
    MC_OK(mc, mc_set(mc, ap, "mid", 5));
    MC_OK(mc, memcached_append(mc, KL(ap), "-end", 4, 0, 0));
    MC_OK(mc, memcached_prepend(mc, KL(ap), "start-", 6, 0, 0));
    mc_expect(mc, ap, "start-mid-end", 5);
    MC_RC(mc, memcached_append(mc, KL(none), "x", 1, 0, 0), MEMCACHED_NOTSTORED);
    MC_RC(mc, memcached_prepend(mc, KL(none), "x", 1, 0, 0), MEMCACHED_NOTSTORED);
    mc_expect(mc, none, NULL, 0);
    memcached_free(mc);
}
END_TEST

static uint64_t mc_gets_cas(memcached_st *mc, const char *k)
{
    const char *keys[] = { k };
    size_t lens[] = { strlen(k) };
    memcached_return_t rc;
    MC_OK(mc, memcached_mget(mc, keys, lens, 1));
    memcached_result_st *res = memcached_fetch_result(mc, NULL, &rc);
    ck_assert_msg(res != NULL, "gets %s: %s", k, memcached_strerror(mc, rc));
    uint64_t cas = memcached_result_cas(res);
    memcached_result_free(res);
    while ((res = memcached_fetch_result(mc, NULL, &rc)) != NULL)
        memcached_result_free(res);
    return cas;
}

START_TEST(cas)
{
    memcached_st *mc = mc_new(_i, hc_srv.port);
    const char *cs = K("cs"), *none = K("cs-none");
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
    MC_OK(mc, mc_set(mc, cs, "v1", 0));
    uint64_t c1 = mc_gets_cas(mc, cs);
    ck_assert(c1 != 0);
    MC_OK(mc, memcached_cas(mc, KL(cs), "v2", 2, 0, 9, c1));
    mc_expect(mc, cs, "v2", 9);
    MC_RC(mc, memcached_cas(mc, KL(cs), "v3", 2, 0, 0, c1), MEMCACHED_DATA_EXISTS);
    mc_expect(mc, cs, "v2", 9);
    uint64_t c2 = mc_gets_cas(mc, cs);
    ck_assert(c2 != 0 && c2 != c1);
    MC_OK(mc, memcached_cas(mc, KL(cs), "v4", 2, 0, 0, c2));
    mc_expect(mc, cs, "v4", 0);
    MC_RC(mc, memcached_cas(mc, KL(none), "v", 1, 0, 0, c2), MEMCACHED_NOTFOUND);
    memcached_free(mc);
}
END_TEST

START_TEST(incr_decr)
{
    memcached_st *mc = mc_new(_i, hc_srv.port);
    const char *ctr = K("ctr"), *wrap = K("wrap"), *none = K("ctr-none"), *text = K("text");
    uint64_t v = 0;
    MC_OK(mc, mc_set(mc, ctr, "10", 0));
    MC_OK(mc, memcached_increment(mc, KL(ctr), 5, &v));
    ck_assert_uint_eq(v, 15);
    MC_OK(mc, memcached_decrement(mc, KL(ctr), 6, &v));
    ck_assert_uint_eq(v, 9);
    /* decr floors at 0 */
    MC_OK(mc, memcached_decrement(mc, KL(ctr), 100, &v));
    ck_assert_uint_eq(v, 0);
    mc_expect_number(mc, ctr, "0");
    /* incr wraps at 2^64 */
    MC_OK(mc, mc_set(mc, wrap, "18446744073709551615", 0));
    MC_OK(mc, memcached_increment(mc, KL(wrap), 2, &v));
    ck_assert_uint_eq(v, 1);
    /* without an initial value a missing key stays missing */
    MC_RC(mc, memcached_increment(mc, KL(none), 1, &v), MEMCACHED_NOTFOUND);
    MC_RC(mc, memcached_decrement(mc, KL(none), 1, &v), MEMCACHED_NOTFOUND);
    mc_expect(mc, none, NULL, 0);
    MC_OK(mc, mc_set(mc, text, "abc", 0));
    memcached_return_t rc = memcached_increment(mc, KL(text), 1, &v);
    ck_assert_msg(rc != MEMCACHED_SUCCESS, "incr of non-numeric succeeded");
    mc_expect(mc, text, "abc", 0);
    memcached_free(mc);
}
END_TEST

/* Binary only: the text protocol has no initial value for incr/decr. */
START_TEST(incr_with_initial)
{
    memcached_st *mc = mc_new(MC_BINARY, hc_srv.port);
    const char *ini = mc_key(MC_BINARY, "ini"), *dini = mc_key(MC_BINARY, "dini");
    uint64_t v = 0;
    /* a missing key is created with the initial value, not incremented */
    MC_OK(mc, memcached_increment_with_initial(mc, KL(ini), 3, 100, 0, &v));
    ck_assert_uint_eq(v, 100);
    mc_expect(mc, ini, "100", 0);
    MC_OK(mc, memcached_increment_with_initial(mc, KL(ini), 3, 100, 0, &v));
    ck_assert_uint_eq(v, 103);
    MC_OK(mc, memcached_decrement_with_initial(mc, KL(ini), 50, 7, 0, &v));
    ck_assert_uint_eq(v, 53);
    MC_OK(mc, memcached_decrement_with_initial(mc, KL(dini), 4, 20, 0, &v));
    ck_assert_uint_eq(v, 20);
    MC_OK(mc, memcached_decrement_with_initial(mc, KL(dini), 4, 20, 0, &v));
    ck_assert_uint_eq(v, 16);
    mc_expect(mc, dini, "16", 0);
    memcached_free(mc);
}
END_TEST

START_TEST(delete_touch_gat)
{
    memcached_st *mc = mc_new(_i, hc_srv.port);
    const char *del = K("del"), *tch = K("tch"), *none = K("tch-none");
    MC_OK(mc, mc_set(mc, del, "x", 0));
    MC_OK(mc, memcached_delete(mc, KL(del), 0));
    mc_expect(mc, del, NULL, 0);
    MC_RC(mc, memcached_delete(mc, KL(del), 0), MEMCACHED_NOTFOUND);

    MC_OK(mc, mc_set(mc, tch, "y", 3));
    MC_OK(mc, memcached_touch(mc, KL(tch), 100));
    mc_expect(mc, tch, "y", 3);
    MC_RC(mc, memcached_touch(mc, KL(none), 100), MEMCACHED_NOTFOUND);
    /*
     * ascii: a negative exptime expires the item at once. Binary exptime is
     * unsigned: -1 is a far future, and an absolute time before the server
     * started expires the item at once.
     */
    MC_OK(mc, memcached_touch(mc, KL(tch), -1));
    if (mc_protos[_i].binary) {
        mc_expect(mc, tch, "y", 3);
        MC_OK(mc, memcached_touch(mc, KL(tch), MC_PAST_EXPTIME));
    }
    mc_expect(mc, tch, NULL, 0);
    memcached_free(mc);

    if (mc_protos[_i].binary)
        return;   /* the binary GAT frames are in test_binary */
    /* libmemcached has no gat: raw. */
    int fd = hc_conn();
    HC_EXPECT(fd, "set gt 2 0 3\r\nabc\r\n", "STORED\r\n");
    HC_EXPECT(fd, "gat 100 gt\r\n", "VALUE gt 2 3\r\nabc\r\nEND\r\n");
    HC_EXPECT(fd, "gat 100 gt-none\r\n", "END\r\n");
    close(fd);
}
END_TEST

static long long mc_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* flush_all empties the cache; flush_all N only about N seconds later. */
START_TEST(flush)
{
    memcached_st *mc = mc_new(_i, hc_srv.port);
    const char *fl1 = K("fl1"), *fl2 = K("fl2");
    MC_OK(mc, mc_set(mc, fl1, "x", 0));
    MC_OK(mc, memcached_flush(mc, 0));
    mc_expect(mc, fl1, NULL, 0);

    MC_OK(mc, mc_set(mc, fl2, "y", 0));
    long long t0 = mc_ms();
    MC_OK(mc, memcached_flush(mc, MC_FLUSH_DELAY_S));
    mc_expect(mc, fl2, "y", 0);
    size_t len;
    uint32_t fl;
    memcached_return_t rc = MEMCACHED_SUCCESS;
    while (rc == MEMCACHED_SUCCESS && mc_ms() - t0 < MC_FLUSH_WAIT_MS) {
        free(memcached_get(mc, KL(fl2), &len, &fl, &rc));
        if (rc == MEMCACHED_SUCCESS)
            usleep(MC_POLL_MS * 1000);
    }
    ck_assert_msg(rc == MEMCACHED_NOTFOUND, "%s still there %lld ms after flush_all %d",
                  fl2, mc_ms() - t0, MC_FLUSH_DELAY_S);
    /* memcached's clock ticks in whole seconds: N may act after N - 2 s. */
    ck_assert_msg(mc_ms() - t0 >= (MC_FLUSH_DELAY_S - 2) * 1000,
                  "delayed flush took effect after %lld ms", mc_ms() - t0);
    memcached_free(mc);
}
END_TEST

START_TEST(version_verbosity)
{
    memcached_st *mc = mc_new(_i, hc_srv.port);
    const char *vv = K("vv");
    MC_OK(mc, memcached_version(mc));
    const memcached_instance_st *in = memcached_server_instance_by_position(mc, 0);
    ck_assert_uint_eq(memcached_server_major_version(in), 1);
    ck_assert_uint_eq(memcached_server_minor_version(in), 6);
    MC_OK(mc, memcached_verbosity(mc, 1));
    MC_OK(mc, memcached_verbosity(mc, 0));
    MC_OK(mc, mc_set(mc, vv, "ok", 0));
    mc_expect(mc, vv, "ok", 0);
    memcached_free(mc);
}
END_TEST

START_TEST(stat_plain)
{
    memcached_st *mc = mc_new(_i, hc_srv.port);
    const char *st_key = K("st");
    MC_OK(mc, mc_set(mc, st_key, "x", 0));
    mc_expect(mc, st_key, "x", 0);
    memcached_return_t rc;
    memcached_stat_st *st = memcached_stat(mc, NULL, &rc);
    ck_assert_msg(rc == MEMCACHED_SUCCESS && st != NULL, "stat: %s",
                  memcached_strerror(mc, rc));
    ck_assert_int_eq(st[0].pid, hc_srv.pid);
    ck_assert_str_eq(st[0].version, "1.6.45");
    ck_assert_uint_ge(st[0].curr_items, 1);
    ck_assert_uint_ge(st[0].cmd_set, 1);
    ck_assert_uint_ge(st[0].get_hits, 1);
    ck_assert_uint_ge(st[0].curr_connections, 1);
    ck_assert_uint_eq(st[0].limit_maxbytes, MC_MAXBYTES);
    char *pid = memcached_stat_get_value(mc, st, "pid", &rc);
    ck_assert_ptr_nonnull(pid);
    ck_assert_int_eq(atoi(pid), hc_srv.pid);
    free(pid);
    memcached_stat_free(mc, st);
    memcached_free(mc);
}
END_TEST

#define MC_STAT_NAMES 8

/* What one `stat <group>` answered: a few names to look for, and counts. */
struct mc_stat_seen {
    const char *names[MC_STAT_NAMES];
    char values[MC_STAT_NAMES][64];
    bool found[MC_STAT_NAMES];
    int entries;
};

static memcached_return_t mc_stat_cb(const memcached_instance_st *in, const char *key,
                                     size_t klen, const char *val, size_t vlen, void *ctx)
{
    (void)in;
    struct mc_stat_seen *s = ctx;
    s->entries++;
    for (int i = 0; i < MC_STAT_NAMES && s->names[i]; i++) {
        if (strlen(s->names[i]) == klen && memcmp(s->names[i], key, klen) == 0) {
            s->found[i] = true;
            snprintf(s->values[i], sizeof(s->values[i]), "%.*s", (int)vlen, val);
        }
    }
    return MEMCACHED_SUCCESS;
}

static void mc_stat_group(memcached_st *mc, const char *group, struct mc_stat_seen *s)
{
    char grp[32];
    snprintf(grp, sizeof(grp), "%s", group);
    MC_OK(mc, memcached_stat_execute(mc, grp, mc_stat_cb, s));
    ck_assert_msg(s->entries > 0, "stat %s: no entries", group);
    for (int i = 0; i < MC_STAT_NAMES && s->names[i]; i++)
        ck_assert_msg(s->found[i], "stat %s: no %s", group, s->names[i]);
}

/* On a server of its own, so the item counts are known exactly. */
START_TEST(stat_groups)
{
    struct h_server srv = { 0 };
    ck_assert(h_server_start(&srv, (const char *[]){ NULL }));
    memcached_st *mc = mc_new(_i, srv.port);
    MC_OK(mc, mc_set(mc, K("sgr"), "0123456789", 0));

    struct mc_stat_seen set = { .names = { "item_size_max", "maxbytes", "tcpport",
                                           "binding_protocol", "evictions" } };
    mc_stat_group(mc, "settings", &set);
    ck_assert_str_eq(set.values[0], "1048576");
    ck_assert_str_eq(set.values[1], "67108864");
    char port[16];
    snprintf(port, sizeof(port), "%d", srv.port);
    ck_assert_str_eq(set.values[2], port);
    ck_assert_str_eq(set.values[3], "auto-negotiate");
    ck_assert_str_eq(set.values[4], "on");

    /* one small item: one class in use, holding it */
    struct mc_stat_seen slabs = { .names = { "active_slabs", "total_malloced",
                                             "1:used_chunks", "1:chunk_size" } };
    mc_stat_group(mc, "slabs", &slabs);
    ck_assert_str_eq(slabs.values[0], "1");
    ck_assert_int_gt(atoi(slabs.values[1]), 0);
    ck_assert_str_eq(slabs.values[2], "1");
    /* the class size follows the item header, which differs between servers */
    int chunk = atoi(slabs.values[3]);
    ck_assert_msg(chunk >= 48 && chunk <= 128 && chunk % MC_CHUNK_ALIGN == 0,
                  "1:chunk_size %d", chunk);

    struct mc_stat_seen items = { .names = { "items:1:number", "items:1:evicted" } };
    mc_stat_group(mc, "items", &items);
    ck_assert_str_eq(items.values[0], "1");
    ck_assert_str_eq(items.values[1], "0");
    memcached_free(mc);
    h_server_stop(&srv);
}
END_TEST

START_TEST(mget_100)
{
    memcached_st *mc = mc_new(_i, hc_srv.port);
    char kbuf[MC_MGET_KEYS][16];
    const char *keys[MC_MGET_KEYS + 1];
    size_t lens[MC_MGET_KEYS + 1];
    bool seen[MC_MGET_KEYS] = { false };
    const char *pfx = K("mg");
    size_t plen = strlen(pfx);
    for (int i = 0; i < MC_MGET_KEYS; i++) {
        char val[32];
        snprintf(kbuf[i], sizeof(kbuf[i]), "%s%d", pfx, i);
        snprintf(val, sizeof(val), "value-%d", i * 7);
        keys[i] = kbuf[i];
        lens[i] = strlen(kbuf[i]);
        MC_OK(mc, mc_set(mc, kbuf[i], val, (uint32_t)i));
    }
    /* one missing key among them: silently absent from the results */
    keys[MC_MGET_KEYS] = K("mg-missing");
    lens[MC_MGET_KEYS] = strlen(keys[MC_MGET_KEYS]);
    MC_OK(mc, memcached_mget(mc, keys, lens, MC_MGET_KEYS + 1));
    memcached_result_st *res;
    memcached_return_t rc;
    int n = 0;
    while ((res = memcached_fetch_result(mc, NULL, &rc)) != NULL) {
        ck_assert_uint_gt(memcached_result_key_length(res), plen);
        int i = atoi(memcached_result_key_value(res) + plen);
        char want[32];
        snprintf(want, sizeof(want), "value-%d", i * 7);
        ck_assert(i >= 0 && i < MC_MGET_KEYS && !seen[i]);
        seen[i] = true;
        ck_assert_uint_eq(memcached_result_length(res), strlen(want));
        ck_assert(memcmp(memcached_result_value(res), want, strlen(want)) == 0);
        ck_assert_uint_eq(memcached_result_flags(res), (uint32_t)i);
        /* a binary GetK always carries the CAS; ascii `get` does not */
        if (mc_protos[_i].binary)
            ck_assert(memcached_result_cas(res) != 0);
        memcached_result_free(res);
        n++;
    }
    ck_assert_int_eq(n, MC_MGET_KEYS);
    memcached_free(mc);
}
END_TEST

START_TEST(empty_and_large)
{
    memcached_st *mc = mc_new(_i, hc_srv.port);
    const char *empty = K("empty2"), *large = K("large");
    MC_OK(mc, memcached_set(mc, KL(empty), "", 0, 0, 3));
    mc_expect(mc, empty, "", 3);

    char *big = malloc(MC_LARGE_BYTES);
    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < MC_LARGE_BYTES; i++)
        big[i] = (char)('a' + (i * 7 + i / 1000) % 26);
    MC_OK(mc, memcached_set(mc, KL(large), big, MC_LARGE_BYTES, 0, 11));
    size_t len = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    char *v = memcached_get(mc, KL(large), &len, &flags, &rc);
    ck_assert_msg(rc == MEMCACHED_SUCCESS, "get %s: %s", large, memcached_strerror(mc, rc));
    ck_assert_uint_eq(len, MC_LARGE_BYTES);
    ck_assert_uint_eq(flags, 11);
    ck_assert(memcmp(v, big, MC_LARGE_BYTES) == 0);
    free(v);
    free(big);
    memcached_free(mc);
}
END_TEST

struct mc_conn_job {
    int port, first, count;
    int proto;
    int ok;
    pthread_barrier_t *all_open;
    long long curr_conns;   /* thread 0: curr_connections with all open */
};

static void *mc_conn_worker(void *arg)
{
    struct mc_conn_job *j = arg;
    const struct mc_proto *p = &mc_protos[j->proto];
    memcached_st *mcs[MC_CONNS];
    char key[32], val[32];
    for (int i = 0; i < j->count; i++) {
        mcs[i] = memcached_create(NULL);
        memcached_behavior_set(mcs[i], MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, p->binary);
        memcached_server_add(mcs[i], "127.0.0.1", (in_port_t)j->port);
        memcached_behavior_set(mcs[i], MEMCACHED_BEHAVIOR_POLL_TIMEOUT, H_IO_TIMEOUT_MS);
        snprintf(key, sizeof(key), "%sconn%d", p->prefix, j->first + i);
        snprintf(val, sizeof(val), "v%d", (j->first + i) * 3);
        if (memcached_set(mcs[i], key, strlen(key), val, strlen(val), 0, 0) == MEMCACHED_SUCCESS)
            j->ok++;
    }
    /* All connections of all threads are open now. */
    pthread_barrier_wait(j->all_open);
    if (j->first == 0) {
        char st[HC_REPLY_MAX];
        j->curr_conns = h_stats(j->port, NULL, st, sizeof(st))
                            ? h_stat_num(st, "curr_connections") : -1;
    }
    for (int i = 0; i < j->count; i++) {
        size_t len;
        uint32_t fl;
        memcached_return_t rc;
        snprintf(key, sizeof(key), "%sconn%d", p->prefix, j->first + i);
        snprintf(val, sizeof(val), "v%d", (j->first + i) * 3);
        char *v = memcached_get(mcs[i], key, strlen(key), &len, &fl, &rc);
        if (v && len == strlen(val) && memcmp(v, val, len) == 0)
            j->ok++;
        free(v);
    }
    pthread_barrier_wait(j->all_open);
    for (int i = 0; i < j->count; i++)
        memcached_free(mcs[i]);
    return NULL;
}

START_TEST(concurrent_200)
{
    pthread_t th[MC_CONN_THREADS];
    struct mc_conn_job jobs[MC_CONN_THREADS];
    pthread_barrier_t all_open;
    int per = MC_CONNS / MC_CONN_THREADS;
    ck_assert_int_eq(pthread_barrier_init(&all_open, NULL, MC_CONN_THREADS), 0);
    for (int t = 0; t < MC_CONN_THREADS; t++) {
        jobs[t] = (struct mc_conn_job){ hc_srv.port, t * per, per, _i, 0, &all_open, 0 };
        ck_assert_int_eq(pthread_create(&th[t], NULL, mc_conn_worker, &jobs[t]), 0);
    }
    int ok = 0;
    for (int t = 0; t < MC_CONN_THREADS; t++) {
        pthread_join(th[t], NULL);
        ok += jobs[t].ok;
    }
    pthread_barrier_destroy(&all_open);
    ck_assert_int_eq(ok, 2 * MC_CONNS);
    /* ours, plus the stats connection itself */
    ck_assert_msg(jobs[0].curr_conns >= MC_CONNS + 1, "curr_connections %lld with %d open",
                  jobs[0].curr_conns, MC_CONNS);
    char st[HC_REPLY_MAX];
    ck_assert(h_stats(hc_srv.port, NULL, st, sizeof(st)));
    ck_assert_msg(h_stat_num(st, "total_connections") >= MC_CONNS,
                  "total_connections %lld", h_stat_num(st, "total_connections"));
}
END_TEST

/*
 * With NOREPLY libmemcached appends `noreply` (ascii) or sends the quiet
 * opcodes SetQ, DeleteQ, AppendQ (binary); nothing is lost either way.
 */
START_TEST(noreply_pipeline)
{
    memcached_st *mc = mc_new(_i, hc_srv.port);
    char key[32], val[32];
    const char *nr0 = K("nr0"), *nr1 = K("nr1");
    MC_OK(mc, memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_NOREPLY, 1));
    for (int i = 0; i < MC_NOREPLY_N; i++) {
        snprintf(key, sizeof(key), "%snr%d", mc_protos[_i].prefix, i);
        snprintf(val, sizeof(val), "n%d", i * 11);
        MC_OK(mc, mc_set(mc, key, val, (uint32_t)i));
    }
    MC_OK(mc, memcached_delete(mc, KL(nr0), 0));
    MC_OK(mc, memcached_append(mc, KL(nr1), "+", 1, 0, 0));
    MC_OK(mc, memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_NOREPLY, 0));
    mc_expect(mc, nr0, NULL, 0);
    mc_expect(mc, nr1, "n11+", 1);
    for (int i = 2; i < MC_NOREPLY_N; i++) {
        snprintf(key, sizeof(key), "%snr%d", mc_protos[_i].prefix, i);
        snprintf(val, sizeof(val), "n%d", i * 11);
        mc_expect(mc, key, val, (uint32_t)i);
    }
    memcached_free(mc);
}
END_TEST

/* BUFFER_REQUESTS holds the sets back until a read flushes them. */
START_TEST(buffered_requests)
{
    memcached_st *mc = mc_new(_i, hc_srv.port);
    char key[32], val[32];
    MC_OK(mc, memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BUFFER_REQUESTS, 1));
    for (int i = 0; i < MC_BUFFERED_N; i++) {
        snprintf(key, sizeof(key), "%sbuf%d", mc_protos[_i].prefix, i);
        snprintf(val, sizeof(val), "buf%d", i * 5);
        memcached_return_t rc = mc_set(mc, key, val, 0);
        ck_assert_msg(rc == MEMCACHED_BUFFERED || rc == MEMCACHED_SUCCESS,
                      "buffered set: %s", memcached_strerror(mc, rc));
    }
    MC_OK(mc, memcached_flush_buffers(mc));
    for (int i = 0; i < MC_BUFFERED_N; i++) {
        snprintf(key, sizeof(key), "%sbuf%d", mc_protos[_i].prefix, i);
        snprintf(val, sizeof(val), "buf%d", i * 5);
        mc_expect(mc, key, val, 0);
    }
    memcached_free(mc);
}
END_TEST
/* A value of len bytes under key k: stored? Checked back when stored. */
static bool mc_try_size(memcached_st *mc, const char *k, size_t len, char *buf)
{
    memcached_return_t rc = memcached_set(mc, k, strlen(k), buf, len, 0, 0);
    if (rc != MEMCACHED_SUCCESS)
        return false;
    size_t got;
    uint32_t fl;
    char *v = memcached_get(mc, k, strlen(k), &got, &fl, &rc);
    ck_assert_msg(rc == MEMCACHED_SUCCESS && got == len &&
                      (len == 0 || memcmp(v, buf, len) == 0),
                  "value of %zu bytes stored but read back wrong", len);
    free(v);
    return true;
}

/* The largest value storable under k, by bisection in [0, page]. */
static size_t mc_largest(memcached_st *mc, const char *k, size_t page, char *buf)
{
    size_t lo = 0, hi = page;   /* lo stores, hi does not */
    ck_assert(mc_try_size(mc, k, lo, buf));
    ck_assert_msg(!mc_try_size(mc, k, hi, buf), "a value of item_size_max %zu was stored",
                  page);
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (mc_try_size(mc, k, mid, buf))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/*
 * For a server with the given -I: item_size_max as configured, the largest
 * value L per key length, and the overhead P - L - K the same for all keys.
 * Returns that overhead.
 */
static size_t mc_check_sizes(const char *iflag, size_t page)
{
    struct h_server srv = { 0 };
    const char *flags[] = { "-I", iflag, NULL };
    ck_assert(h_server_start(&srv, iflag ? flags : (const char *[]){ NULL }));
    char st[HC_REPLY_MAX];
    ck_assert(h_stats(srv.port, "settings", st, sizeof(st)));
    ck_assert_int_eq(h_stat_num(st, "item_size_max"), (long long)page);

    memcached_st *mc = mc_new(MC_ASCII, srv.port);
    char *buf = malloc(page + 1);
    memset(buf, 'L', page);
    static const char *const keys[] = { "k", "kkkkkkkkkk", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk" };
    size_t overhead = 0;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        size_t k = strlen(keys[i]);
        size_t largest = mc_largest(mc, keys[i], page, buf);
        size_t oh = page - largest - k;
        ck_assert_msg(oh > 0 && oh <= MC_HEADER_MAX,
                      "-I %s key %zu: largest value %zu, overhead %zu", iflag ? iflag : "1m",
                      k, largest, oh);
        if (i == 0)
            overhead = oh;
        ck_assert_msg(oh == overhead, "key length %zu: largest %zu, overhead %zu != %zu",
                      k, largest, oh, overhead);
        /* the first refused one leaves the connection working */
        memcached_return_t rc = memcached_set(mc, keys[i], k, buf, largest + 1, 0, 0);
        ck_assert_msg(rc != MEMCACHED_SUCCESS, "value of %zu stored", largest + 1);
        mc_expect(mc, keys[i], NULL, 0);
    }
    MC_OK(mc, memcached_set(mc, "after", 5, "ok", 2, 0, 0));
    mc_expect(mc, "after", "ok", 0);
    memcached_free(mc);
    free(buf);
    h_server_stop(&srv);
    return overhead;
}

START_TEST(largest_value)
{
    size_t oh_default = mc_check_sizes(NULL, MC_DEFAULT_PAGE_BYTES);
    size_t oh_small = mc_check_sizes(MC_SMALL_PAGE, MC_SMALL_PAGE_BYTES);
    ck_assert_uint_eq(oh_default, oh_small);
}
END_TEST

static Suite *mc_suite(void)
{
    Suite *s = suite_create("memcached");
    TCase *tc = tcase_create("commands");
    tcase_add_unchecked_fixture(tc, mc_setup, mc_teardown);
    tcase_set_timeout(tc, MC_TIMEOUT_S);
    tcase_add_test(tc, incr_with_initial);
    /*
     * Every operation once per protocol in mc_protos. flush stays last: an
     * item stored in the second a delayed flush_all takes effect is flushed.
     */
    tcase_add_loop_test(tc, set_get, 0, MC_NPROTOS);
    tcase_add_loop_test(tc, add_replace, 0, MC_NPROTOS);
    tcase_add_loop_test(tc, append_prepend, 0, MC_NPROTOS);
    tcase_add_loop_test(tc, cas, 0, MC_NPROTOS);
    tcase_add_loop_test(tc, incr_decr, 0, MC_NPROTOS);
    tcase_add_loop_test(tc, delete_touch_gat, 0, MC_NPROTOS);
    tcase_add_loop_test(tc, version_verbosity, 0, MC_NPROTOS);
    tcase_add_loop_test(tc, stat_plain, 0, MC_NPROTOS);
    tcase_add_loop_test(tc, stat_groups, 0, MC_NPROTOS);
    tcase_add_loop_test(tc, mget_100, 0, MC_NPROTOS);
    tcase_add_loop_test(tc, empty_and_large, 0, MC_NPROTOS);
    tcase_add_loop_test(tc, concurrent_200, 0, MC_NPROTOS);
    tcase_add_loop_test(tc, noreply_pipeline, 0, MC_NPROTOS);
    tcase_add_loop_test(tc, buffered_requests, 0, MC_NPROTOS);
    tcase_add_loop_test(tc, flush, 0, MC_NPROTOS);
    suite_add_tcase(s, tc);

    TCase *tz = tcase_create("sizes");
    tcase_set_timeout(tz, MC_TIMEOUT_S);
    tcase_add_test(tz, largest_value);
    suite_add_tcase(s, tz);
    return s;
}

int main(void)
{
    return hc_run_suite(mc_suite());
}
