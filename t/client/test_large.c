/*
 * test_large: values larger than slab_chunk_max (chained items) through a
 * running server: text get/gets/gat, meta mg (v, s), binary get/getk, with
 * every byte compared; a value sent in small pieces; append, prepend and
 * incr on large values; and the memory figures of issue 12 with -m 64
 * (150 values of 600 KB keep at least memcached 1.6.45's 104; with -I 4m,
 * 30 sizes from 60 B to 1.4 MB are all kept, as memcached keeps them).
 *
 * Values follow a position pattern, so a byte out of place anywhere in a
 * megabyte shows.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define LG_TIMEOUT_S 120
#define KB 1024u
#define MB (1024u * 1024u)
#define LG_600K (600 * KB)
/* The largest key + value with -I 1m: the page less the header (with CAS)
 * and 4 bytes of flags, as store_item_size_max. */
#define LG_ITEM_MAX (MB - 38 - 4)
#define LG_PIECE 1000              /* bytes per send when trickling a value */
#define LG_PRESSURE_VALUES 150
#define LG_PRESSURE_KEEP 104       /* memcached 1.6.45 keeps 104 */
#define LG_LINE_MAX 512
#define LG_SIZES 30                /* -I 4m: 30 sizes from 60 B to 1.4 MB */
#define LG_SIZE_MIN 60.0
#define LG_SIZE_MAX 1400000.0

/* Binary protocol framing. */
#define BN_MAGIC_REQ 0x80
#define BN_MAGIC_RES 0x81
#define BN_HEADER_LEN 24
#define BN_OP_GET 0x00
#define BN_OP_GETK 0x0c
#define BN_EXT_FLAGS 4

struct h_server hc_srv;

static void lg_setup(void)
{
    HC_START(NULL);
}

static void lg_teardown(void)
{
    h_server_stop(&hc_srv);
}

static char *lg_value(size_t n, unsigned seed)
{
    char *v = malloc(n);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n; i++)
        v[i] = (char)('a' + (i * 7 + i / 1021 + seed) % 26);
    return v;
}

/* "set key flags 0 n\r\n" value "\r\n" -> STORED (or the refusal in exp). */
static void lg_set(int fd, const char *cmd, const char *key, const char *v, size_t n,
                   const char *exp)
{
    char line[LG_LINE_MAX];
    int len = snprintf(line, sizeof(line), "%s %s 5 0 %zu\r\n", cmd, key, n);
    ck_assert(h_send(fd, line, (size_t)len));
    ck_assert(h_send(fd, v, n));
    char got[LG_LINE_MAX];
    ck_assert(h_send(fd, "\r\n", 2));
    h_read_until(fd, got, sizeof(got), "\r\n", H_IO_TIMEOUT_MS, NULL);
    ck_assert_str_eq(got, exp);
}

/* Reads a reply made of head, n value bytes (== v) and tail. */
static void lg_expect_value(int fd, const char *head, const char *v, size_t n, const char *tail)
{
    size_t hl = strlen(head), tl = strlen(tail), total = hl + n + tl;
    char *got = malloc(total + 1);
    size_t have = h_read_n(fd, got, total, H_IO_TIMEOUT_MS);
    ck_assert_uint_eq(have, total);
    ck_assert_msg(memcmp(got, head, hl) == 0, "head %s", h_escape(got, hl));
    ck_assert_msg(memcmp(got + hl, v, n) == 0, "value bytes differ");
    ck_assert_msg(memcmp(got + hl + n, tail, tl) == 0, "tail %s", h_escape(got + hl + n, tl));
    free(got);
}

static void lg_text_get(int fd, const char *key, const char *v, size_t n)
{
    char req[LG_LINE_MAX], head[LG_LINE_MAX];
    snprintf(req, sizeof(req), "get %s\r\n", key);
    snprintf(head, sizeof(head), "VALUE %s 5 %zu\r\n", key, n);
    ck_assert(h_send_str(fd, req));
    lg_expect_value(fd, head, v, n, "\r\nEND\r\n");
}

START_TEST(test_text_sizes)
{
    int fd = hc_conn();
    const size_t sizes[] = { 600 * KB, LG_ITEM_MAX - 3, 512 * KB - 45, 512 * KB - 44,
                             512 * KB, MB / 2 + MB / 4 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *v = lg_value(sizes[i], (unsigned)i);
        lg_set(fd, "set", "big", v, sizes[i], "STORED\r\n");
        lg_text_get(fd, "big", v, sizes[i]);
        free(v);
    }
    /* one byte over the largest item */
    char *v = lg_value(LG_ITEM_MAX - 2, 1);
    lg_set(fd, "set", "big", v, LG_ITEM_MAX - 2, "SERVER_ERROR object too large for cache\r\n");
    free(v);
    /* gets, gat and a multi-get of two large values */
    v = lg_value(LG_600K, 2);
    lg_set(fd, "set", "k1", v, LG_600K, "STORED\r\n");
    lg_set(fd, "set", "k2", v, LG_600K, "STORED\r\n");
    ck_assert(h_send_str(fd, "gat 100 k1 k2\r\n"));
    char head[LG_LINE_MAX];
    snprintf(head, sizeof(head), "VALUE k1 5 %u\r\n", LG_600K);
    lg_expect_value(fd, head, v, LG_600K, "\r\n");
    snprintf(head, sizeof(head), "VALUE k2 5 %u\r\n", LG_600K);
    lg_expect_value(fd, head, v, LG_600K, "\r\nEND\r\n");
    ck_assert(h_send_str(fd, "gets k1\r\n"));
    const char *gets_head = "VALUE k1 5 614400 ";
    char line[LG_LINE_MAX];
    size_t got = h_read_n(fd, line, strlen(gets_head), H_IO_TIMEOUT_MS);
    ck_assert(got == strlen(gets_head) && memcmp(line, gets_head, got) == 0);
    do                                 /* the CAS, one byte at a time to the line's end */
        ck_assert_uint_eq(h_read_n(fd, line + got, 1, H_IO_TIMEOUT_MS), 1);
    while (line[got++] != '\n' && got < sizeof(line) - 1);
    line[got] = '\0';
    unsigned long long cas = 0;
    ck_assert_int_eq(sscanf(line + strlen(gets_head), "%llu", &cas), 1);
    ck_assert_uint_gt(cas, 0);
    lg_expect_value(fd, "", v, LG_600K, "\r\nEND\r\n");
    free(v);
    HC_USABLE(fd);
    close(fd);
}
END_TEST

START_TEST(test_meta_get)
{
    int fd = hc_conn();
    char *v = lg_value(LG_ITEM_MAX - 3, 4);
    lg_set(fd, "set", "big", v, LG_ITEM_MAX - 3, "STORED\r\n");
    ck_assert(h_send_str(fd, "mg big s v f\r\n"));
    char head[LG_LINE_MAX];
    snprintf(head, sizeof(head), "VA %u s%u f5\r\n", LG_ITEM_MAX - 3, LG_ITEM_MAX - 3);
    lg_expect_value(fd, head, v, LG_ITEM_MAX - 3, "\r\n");
    snprintf(head, sizeof(head), "HD s%u\r\n", LG_ITEM_MAX - 3);
    HC_EXPECT(fd, "mg big s\r\n", head);
    free(v);
    close(fd);
}
END_TEST

static void bn_put16(unsigned char *p, uint16_t v)
{
    v = htons(v);
    memcpy(p, &v, 2);
}

static void bn_put32(unsigned char *p, uint32_t v)
{
    v = htonl(v);
    memcpy(p, &v, 4);
}

/* A binary get (or getk) of key; checks the whole response. */
static void bn_get(int fd, unsigned char op, const char *key, const char *v, size_t n)
{
    size_t nkey = strlen(key);
    unsigned char req[BN_HEADER_LEN + KB] = { 0 };
    req[0] = BN_MAGIC_REQ;
    req[1] = op;
    bn_put16(req + 2, (uint16_t)nkey);
    bn_put32(req + 8, (uint32_t)nkey);
    memcpy(req + BN_HEADER_LEN, key, nkey);
    ck_assert(h_send(fd, req, BN_HEADER_LEN + nkey));
    size_t kl = op == BN_OP_GETK ? nkey : 0;
    unsigned char head[BN_HEADER_LEN + BN_EXT_FLAGS + KB];
    size_t hl = BN_HEADER_LEN + BN_EXT_FLAGS + kl;
    ck_assert_uint_eq(h_read_n(fd, (char *)head, hl, H_IO_TIMEOUT_MS), hl);
    ck_assert_uint_eq(head[0], BN_MAGIC_RES);
    ck_assert_uint_eq(head[1], op);
    ck_assert_uint_eq(head[6] << 8 | head[7], 0);                /* status */
    uint32_t body;
    memcpy(&body, head + 8, 4);
    ck_assert_uint_eq(ntohl(body), BN_EXT_FLAGS + kl + n);
    uint32_t flags;
    memcpy(&flags, head + BN_HEADER_LEN, 4);
    ck_assert_uint_eq(ntohl(flags), 5);
    ck_assert(memcmp(head + BN_HEADER_LEN + BN_EXT_FLAGS, key, kl) == 0);
    lg_expect_value(fd, "", v, n, "");
}

START_TEST(test_binary_get)
{
    /* a connection speaks one protocol: values set over text on fd */
    int fd = hc_conn(), bin = hc_conn();
    char *v = lg_value(LG_600K, 5);
    lg_set(fd, "set", "big", v, LG_600K, "STORED\r\n");
    bn_get(bin, BN_OP_GET, "big", v, LG_600K);
    bn_get(bin, BN_OP_GETK, "big", v, LG_600K);
    free(v);
    v = lg_value(LG_ITEM_MAX - 3, 6);
    lg_set(fd, "set", "big", v, LG_ITEM_MAX - 3, "STORED\r\n");
    bn_get(bin, BN_OP_GETK, "big", v, LG_ITEM_MAX - 3);
    free(v);
    close(bin);
    close(fd);
}
END_TEST

START_TEST(test_sent_in_pieces)
{
    int fd = hc_conn();
    char *v = lg_value(LG_600K, 7);
    char line[LG_LINE_MAX];
    int len = snprintf(line, sizeof(line), "set big 5 0 %u\r\n", LG_600K);
    ck_assert(h_send(fd, line, (size_t)len));
    for (size_t off = 0; off < LG_600K; off += LG_PIECE) {
        size_t n = LG_600K - off < LG_PIECE ? LG_600K - off : LG_PIECE;
        ck_assert(h_send(fd, v + off, n));
        if (off % (64 * LG_PIECE) == 0)
            usleep(1000);          /* let the server see a part at a time */
    }
    HC_EXPECT(fd, "\r\n", "STORED\r\n");
    lg_text_get(fd, "big", v, LG_600K);
    free(v);
    close(fd);
}
END_TEST

START_TEST(test_concat_and_incr)
{
    int fd = hc_conn();
    size_t n = 520 * KB, add = 30 * KB;
    char *v = lg_value(n + 2 * add, 8);
    /* plain -> chained by append, then prepend */
    lg_set(fd, "set", "c", v + add, n - 200 * KB, "STORED\r\n");
    lg_set(fd, "append", "c", v + add + n - 200 * KB, 200 * KB + add, "STORED\r\n");
    lg_set(fd, "prepend", "c", v, add, "STORED\r\n");
    lg_text_get(fd, "c", v, n + 2 * add);
    free(v);
    /* incr on a chained counter: "41", blanks to 600 KB */
    v = malloc(LG_600K);
    memset(v, ' ', LG_600K);
    memcpy(v, "41", 2);
    lg_set(fd, "set", "n", v, LG_600K, "STORED\r\n");
    HC_EXPECT(fd, "incr n 1\r\n", "42\r\n");
    HC_EXPECT(fd, "get n\r\n", "VALUE n 5 2\r\n42\r\nEND\r\n");
    free(v);
    close(fd);
}
END_TEST

/* Stores count values of n bytes under "p<i>"; returns how many read back whole. */
static int lg_fill_and_count(int fd, int count, size_t n)
{
    char *v = lg_value(n, 9);
    char key[32];
    for (int i = 0; i < count; i++) {
        snprintf(key, sizeof(key), "p%d", i);
        lg_set(fd, "set", key, v, n, "STORED\r\n");
    }
    int kept = 0;
    char req[64], head[LG_LINE_MAX];
    char *got = malloc(n + LG_LINE_MAX);
    for (int i = 0; i < count; i++) {
        snprintf(req, sizeof(req), "get p%d\r\n", i);
        ck_assert(h_send_str(fd, req));
        size_t have = h_read_until(fd, got, n + LG_LINE_MAX, "END\r\n", H_IO_TIMEOUT_MS, NULL);
        int hl = snprintf(head, sizeof(head), "VALUE p%d 5 %zu\r\n", i, n);
        if (have == (size_t)hl + n + 7 && memcmp(got, head, (size_t)hl) == 0) {
            ck_assert(memcmp(got + hl, v, n) == 0);
            kept++;
        } else {
            ck_assert_str_eq(got, "END\r\n");
        }
    }
    free(got);
    free(v);
    return kept;
}

START_TEST(test_pressure_600k)
{
    h_server_stop(&hc_srv);
    HC_START("-m", "64", NULL);
    int fd = hc_conn();
    int kept = lg_fill_and_count(fd, LG_PRESSURE_VALUES, LG_600K);
    ck_assert_msg(kept >= LG_PRESSURE_KEEP, "%d of %d kept", kept, LG_PRESSURE_VALUES);
    char stats[HC_REPLY_MAX];
    ck_assert(h_stats(hc_srv.port, NULL, stats, sizeof(stats)));
    ck_assert_int_eq(h_stat_num(stats, "curr_items"), kept);
    ck_assert_int_eq(h_stat_num(stats, "evictions"), LG_PRESSURE_VALUES - kept);
    close(fd);
}
END_TEST

START_TEST(test_page_4m_every_size)
{
    /* -I 4m -m 64: 16 pages of 4 MB for 30 sizes of 30 classes; sizes that
     * find no page spill into chunks free in the others' (memcached 1.6.45
     * stores all 30 too) */
    h_server_stop(&hc_srv);
    HC_START("-I", "4m", "-m", "64", NULL);
    int fd = hc_conn();
    char key[32];
    size_t n[LG_SIZES];
    char *v[LG_SIZES];
    for (int i = 0; i < LG_SIZES; i++) {
        n[i] = (size_t)(LG_SIZE_MIN * pow(LG_SIZE_MAX / LG_SIZE_MIN, i / (LG_SIZES - 1.0)));
        v[i] = lg_value(n[i], (unsigned)i);
        snprintf(key, sizeof(key), "s%d", i);
        lg_set(fd, "set", key, v[i], n[i], "STORED\r\n");
    }
    for (int i = 0; i < LG_SIZES; i++) {
        snprintf(key, sizeof(key), "s%d", i);
        lg_text_get(fd, key, v[i], n[i]);
        free(v[i]);
    }
    char stats[HC_REPLY_MAX];
    ck_assert(h_stats(hc_srv.port, NULL, stats, sizeof(stats)));
    ck_assert_int_eq(h_stat_num(stats, "curr_items"), LG_SIZES);
    ck_assert_int_eq(h_stat_num(stats, "evictions"), 0);
    close(fd);
}
END_TEST

static Suite *large_suite(void)
{
    Suite *s = suite_create("large");
    TCase *tc = tcase_create("large");
    tcase_add_checked_fixture(tc, lg_setup, lg_teardown);
    tcase_set_timeout(tc, LG_TIMEOUT_S);
    tcase_add_test(tc, test_text_sizes);
    tcase_add_test(tc, test_meta_get);
    tcase_add_test(tc, test_binary_get);
    tcase_add_test(tc, test_sent_in_pieces);
    tcase_add_test(tc, test_concat_and_incr);
    tcase_add_test(tc, test_pressure_600k);
    tcase_add_test(tc, test_page_4m_every_size);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return hc_run_suite(large_suite());
}
