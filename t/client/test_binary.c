/*
 * test_binary: binary protocol frames over a raw socket, compared byte for
 * byte: quiet gets and their Noop, GetKQ, opaque echo, Touch/GAT, Incr with
 * its initial value, and quiet opcodes that answer only failures. What
 * libmemcached does over the binary protocol is in test_memcached, which
 * runs each of its operations once per protocol.
 *
 * The expected bytes are those of memcached 1.6.18. The one field that
 * legitimately differs between servers is the CAS value of a response: the
 * checks require it non-zero where memcached sends one and zero where it
 * sends zero, and compare every other byte exactly.
 *
 * The tests share one server (unchecked fixture) and use their own keys.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define BN_TIMEOUT_S 30

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

/*
 * Sends req, reads as many bytes as expected, compares; a byte that follows
 * within H_EXTRA_WAIT_MS is a difference too.
 */
static void bn_check(int fd, const char *req, size_t rlen, struct bn_expect *e)
{
    static char got[BN_FRAME_MAX * 2 + 1];
    size_t n = h_roundtrip(fd, req, rlen, got, sizeof(got), e->len, H_IO_TIMEOUT_MS);
    if (n == e->len)
        n += h_read_extra(fd, got + n, sizeof(got) - 1 - n, H_EXTRA_WAIT_MS);
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
    bn_expect_frame(&e, &BN_RES(BN_OP_VERSION, .opaque = 0x0a0b0c0d, .value = "1.6.45",
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
    return hc_run_suite(bn_suite());
}
