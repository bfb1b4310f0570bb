/*
 * check_proto_meta: the meta commands (protocol/meta.c) fed from byte
 * strings through proto_process() against a real store. Every expected reply
 * is what memcached 1.6.18 sends for the same input (checked against a
 * running Debian memcached); CAS values are this store's (a fresh store per
 * test counts from 1), as are me's cls= and size= (slabs/internal.h's item
 * layout), and time moves with clock_advance().
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "protocol/proto.h"
#include "protocol/reply.h"
#include "slabs/store.h"
#include "t/unit/fixture_proto.h"

#define GOT_MAX (1u << 16)
#define DIGITS10 "0123456789"
#define DIGITS70 DIGITS10 DIGITS10 DIGITS10 DIGITS10 DIGITS10 DIGITS10 DIGITS10

/* No stats or verbosity callbacks: the meta commands never call them. */
static void setup(void)
{
    fx_proto_setup(GOT_MAX, false);
}

/* ---------------------------------------------------------------- mn, me */

START_TEST(noop_and_debug)
{
    EXPECT("mn\r\n", "MN\r\n");
    EXPECT("mn x y\r\n", "MN\r\n");
    EXPECT("me\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("me a\r\n", "EN\r\n");
    /*
     * size = 30-byte header + 8 CAS (+ 4 client flags when non-zero) + key +
     * value, as in slabs/internal.h; chunk classes at -n 48 -f 1.25 with CAS
     * are 88, 112, 144, ... bytes, so 43 and 42 are class 1 and 115 class 3.
     */
    EXPECT("ms a 2 T100\r\nhi\r\n", "HD\r\n");
    EXPECT("mg a\r\n", "HD\r\n");       /* fetches it */
    EXPECT("me a\r\n", "ME a exp=100 la=0 cas=1 fetch=yes cls=1 size=41\r\n");
    EXPECT("ms b 1\r\nx\r\n", "HD\r\n");
    EXPECT("me b\r\n", "ME b exp=-1 la=0 cas=2 fetch=no cls=1 size=40\r\n");
    EXPECT("me b\r\n", "ME b exp=-1 la=0 cas=2 fetch=no cls=1 size=40\r\n"); /* not fetched */
    EXPECT("me Yg== b\r\n", "ME b exp=-1 la=0 cas=2 fetch=no cls=1 size=40\r\n");
    EXPECT("me Yg= b\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("ms c 70 F5 T0\r\n" DIGITS70 "\r\n", "HD\r\n");
    EXPECT("me c\r\n", "ME c exp=-1 la=0 cas=3 fetch=no cls=3 size=113\r\n");
    ck_assert_uint_eq(ctr->cmd_meta, 6);   /* the me commands, not the decode error */
}
END_TEST

/* ---------------------------------------------------------------- mg */

START_TEST(mg_hit_flags)
{
    EXPECT("ms foo 2 T0 F5\r\nhi\r\n", "HD\r\n");
    EXPECT("mg foo s v t f c h l k O9\r\n", "VA 2 s2 t-1 f5 c1 h0 l0 kfoo O9\r\nhi\r\n");
    EXPECT("mg foo h\r\n", "HD h1\r\n");
    EXPECT("mg foo\r\n", "HD\r\n");
    EXPECT("mg foo q\r\n", "HD\r\n");           /* q hides only EN */
    EXPECT("mg foo k q\r\n", "HD kfoo\r\n");
    EXPECT("mg foo v q\r\n", "VA 2\r\nhi\r\n");
    EXPECT("mg foo Oabc\r\n", "HD Oabc\r\n");
    EXPECT("mg foo O\r\n", "HD O\r\n");
    EXPECT("mg foo P L v\r\n", "VA 2\r\nhi\r\n");
    /* flags other commands use are accepted and ignored */
    EXPECT("mg foo J1 D1 C1 MX F1 I\r\n", "HD\r\n");
    clock_advance(7);
    EXPECT("mg foo l u\r\n", "HD l7\r\n");
    EXPECT("ms bar 0\r\n\r\n", "HD\r\n");
    EXPECT("mg bar u h\r\n", "HD h0\r\n");
    EXPECT("mg bar h\r\n", "HD h0\r\n");        /* u: not marked fetched */
    EXPECT("mg bar h\r\n", "HD h1\r\n");
    EXPECT("mg bar v s\r\n", "VA 0 s0\r\n\r\n");
    ck_assert_uint_eq(ctr->cmd_get, 15);
    ck_assert_uint_eq(ctr->get_hits, 15);
}
END_TEST

START_TEST(mg_miss)
{
    EXPECT("mg foo v\r\n", "EN\r\n");
    EXPECT("mg foo O12 k\r\n", "EN O12 kfoo\r\n");
    EXPECT("mg foo k O12 s t v c f h l\r\n", "EN kfoo O12\r\n");
    EXPECT("mg foo v k O123 q\r\n", "");
    EXPECT("mg foo v q\r\nmn\r\n", "MN\r\n");
    ck_assert_uint_eq(ctr->cmd_get, 5);
    ck_assert_uint_eq(ctr->get_misses, 5);
    EXPECT("ms e 1 T1\r\nx\r\n", "HD\r\n");
    clock_advance(2);
    EXPECT("mg e\r\n", "EN\r\n");
    ck_assert_uint_eq(ctr->get_expired, 1);
}
END_TEST

START_TEST(mg_ttl_and_touch)
{
    EXPECT("ms a 2 T100\r\nhi\r\n", "HD\r\n");
    EXPECT("mg a t\r\n", "HD t100\r\n");
    clock_advance(10);
    EXPECT("mg a t v\r\n", "VA 2 t90\r\nhi\r\n");
    /* flags act in order: t before T shows the old TTL */
    EXPECT("mg a t T30\r\n", "HD t90\r\n");
    EXPECT("mg a t\r\n", "HD t30\r\n");
    EXPECT("mg a T0 t\r\n", "HD t-1\r\n");
    ck_assert_uint_eq(ctr->cmd_touch, 2);
    ck_assert_uint_eq(ctr->touch_hits, 2);
    ck_assert_uint_eq(ctr->cmd_get, 3);
    EXPECT("mg zz T30\r\n", "EN\r\n");          /* a miss counts as a get */
    ck_assert_uint_eq(ctr->get_misses, 1);
    ck_assert_uint_eq(ctr->touch_misses, 0);
    EXPECT("mg a T-1\r\nmg a\r\n", "HD\r\nEN\r\n");
}
END_TEST

START_TEST(mg_base64_keys)
{
    EXPECT("mg Zm9v b k v\r\n", "EN kZm9v b\r\n");
    EXPECT("mg Zm9v v k b O1\r\n", "EN kZm9v b O1\r\n");
    EXPECT("ms Zm9v 2 b\r\nhi\r\n", "HD\r\n");
    /* the item remembers its key came binary, whatever the request says */
    EXPECT("mg foo v k\r\n", "VA 2 kZm9v b\r\nhi\r\n");
    EXPECT("mg Zm9v b k v\r\n", "VA 2 kZm9v b\r\nhi\r\n");
    EXPECT("mg Zm9v k v b c\r\n", "VA 2 kZm9v b c1\r\nhi\r\n");
    EXPECT("ms foo 2\r\nho\r\n", "HD\r\n");
    EXPECT("mg Zm9v b k v\r\n", "VA 2 kfoo\r\nho\r\n");
    EXPECT("mg Zm9 b k\r\n", "CLIENT_ERROR error decoding key\r\n");
    EXPECT("mg YQ= b k\r\n", "CLIENT_ERROR error decoding key\r\n");
    EXPECT("mg ==== b\r\n", "CLIENT_ERROR error decoding key\r\n");
    EXPECT("mg a b\r\n", "CLIENT_ERROR error decoding key\r\n");
    EXPECT("mg AAE= b k\r\n", "EN kAAE= b\r\n");  /* bytes 0x00 0x01 */
    EXPECT("ms AAE= 1 b k c\r\nz\r\n", "HD kAAE= b c3\r\n");
    EXPECT("mg AAE= b v\r\n", "VA 1\r\nz\r\n");
    /* a vivified item keeps the b of its request, as ms does (memcached 1.6.45
     * echoes it raw) */
    EXPECT("mg Zm9vMg== b N30 k s v\r\n", "VA 0 kZm9vMg== b s0 W\r\n\r\n");
    EXPECT("mg foo2 k v\r\n", "VA 0 kZm9vMg== b Z\r\n\r\n");
    /* fuzz_meta's find: a vivified key holding a space and a newline went out
     * raw and broke the reply line */
    EXPECT("mg ZCCCCCCCCCCCCm9v N30 b v k\r\n", "VA 0 kZCCCCCCCCCCCCm9v b W\r\n\r\n");
}
END_TEST

/* A key stored unmarked (the binary protocol takes any bytes) that would break
 * a text line goes back in base64 all the same. */
START_TEST(mg_unprintable_key_echoed_in_base64)
{
    enum store_result why;
    item *it = store_item_alloc(st, "a b\n", 4, 0, 0, 1, &why);
    ck_assert_ptr_nonnull(it);
    item_value_mut(it)[0] = 'x';
    ck_assert_int_eq(store_commit(st, it, STORE_SET, 0, NULL), STORE_OK);
    EXPECT("mg YSBiCg== b k v\r\n", "VA 1 kYSBiCg== b\r\nx\r\n");
}
END_TEST

START_TEST(mg_vivify_win_stale)
{
    EXPECT("mg v1 v c N30 t\r\n", "VA 0 c1 t30 W\r\n\r\n");
    EXPECT("mg v1 v c N30 t\r\n", "VA 0 c1 t30 Z\r\n\r\n");
    EXPECT("mg v1 v c t\r\n", "VA 0 c1 t30 Z\r\n\r\n");
    EXPECT("mg v1 h\r\n", "HD h1 Z\r\n");
    /* the winner stores: a new item without marks */
    EXPECT("ms v1 3 T60\r\nabc\r\n", "HD\r\n");
    EXPECT("mg v1 v c t\r\n", "VA 3 c2 t60\r\nabc\r\n");
    /* R: win when the TTL left is below the token, once */
    EXPECT("mg v1 v R30 t\r\n", "VA 3 t60\r\nabc\r\n");
    EXPECT("mg v1 v R61 t\r\n", "VA 3 t60 W\r\nabc\r\n");
    EXPECT("mg v1 v R61 t\r\n", "VA 3 t60 Z\r\nabc\r\n");
    EXPECT("mg v1 R0\r\nmg v1 R-1\r\n", "HD Z\r\nHD Z\r\n");
    /* md I: stale, new CAS, token free again: first reader wins */
    EXPECT("md v1 I\r\n", "HD\r\n");
    EXPECT("mg v1 v c t\r\n", "VA 3 c3 t60 X W\r\nabc\r\n");
    EXPECT("mg v1 v c t\r\n", "VA 3 c3 t60 Z X\r\nabc\r\n");
    /* ms I with an older CAS stores, but stays stale and keeps TTL + token */
    EXPECT("ms v1 3 T99 I C1\r\nold\r\n", "HD\r\n");
    EXPECT("mg v1 v c t\r\n", "VA 3 c4 t60 Z X\r\nold\r\n");
    /* ...a newer CAS is refused */
    EXPECT("ms v1 3 I C99\r\nnew\r\n", "EX\r\n");
    /* ...the matching CAS is a plain cas: marks gone */
    EXPECT("ms v1 3 T60 I C4\r\nnew\r\n", "HD\r\n");
    EXPECT("mg v1 v c t\r\n", "VA 3 c5 t60\r\nnew\r\n");
    /* md I with T sets the TTL */
    EXPECT("md v1 I T30 O1 k\r\n", "HD O1 kv1\r\n");
    EXPECT("mg v1 v t\r\n", "VA 3 t30 X W\r\nnew\r\n");
    EXPECT("md v1 I q\r\n", "");
    EXPECT("ms v1 3\r\nnew\r\nmg v1 v\r\n", "HD\r\nVA 3\r\nnew\r\n");
    /* a vivify counts as a get hit */
    ck_assert_uint_eq(ctr->get_hits, 16);
}
END_TEST

/* ---------------------------------------------------------------- ms */

START_TEST(ms_modes)
{
    EXPECT("ms a 2 MR\r\nhi\r\n", "NS\r\n");
    EXPECT("ms a 2 ME\r\nhi\r\n", "HD\r\n");
    EXPECT("ms a 2 ME\r\nhi\r\n", "NS\r\n");
    EXPECT("ms a 2 MA\r\nXY\r\n", "HD\r\n");
    EXPECT("ms a 2 MP\r\nPP\r\n", "HD\r\n");
    EXPECT("mg a v f t\r\n", "VA 6 f0 t-1\r\nPPhiXY\r\n");
    EXPECT("ms a 1 MS F7 T40\r\nz\r\n", "HD\r\n");
    EXPECT("mg a v f t\r\n", "VA 1 f7 t40\r\nz\r\n");
    EXPECT("ms a 1 MR F8\r\nw\r\n", "HD\r\n");
    EXPECT("mg a v f t\r\n", "VA 1 f8 t-1\r\nw\r\n");
    EXPECT("ms b 1 MA\r\nw\r\n", "NS\r\n");
    EXPECT("ms b 1 MP\r\nw\r\n", "NS\r\n");
    EXPECT("ms b 1 MA N30\r\nw\r\n", "HD\r\n");      /* append with N vivifies */
    EXPECT("mg b v t\r\nmd b q\r\n", "VA 1 t30\r\nw\r\n");
    EXPECT("ms a 2 Me\r\nhi\r\n", "CLIENT_ERROR invalid mode for ms M token\r\n");
    EXPECT("ms a 2 MX\r\nhi\r\n", "CLIENT_ERROR invalid mode for ms M token\r\n");
    EXPECT("ms a 2 M\r\nhi\r\n", "CLIENT_ERROR invalid mode for ms M token\r\n");
    EXPECT("ms a 2 MSS\r\nhi\r\n", "HD\r\n");     /* only the byte after M counts */
    EXPECT("ms a 2 F4294967295\r\nhi\r\nmg a f\r\n", "HD\r\nHD f4294967295\r\n");
    EXPECT("ms a +2\r\nhi\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n");
    ck_assert_uint_eq(ctr->cmd_set, 12);   /* not the bad modes */
}
END_TEST

START_TEST(ms_cas_and_return_flags)
{
    EXPECT("ms a 2 c k O1\r\nhi\r\n", "HD c1 ka O1\r\n");
    EXPECT("ms a 2 ME c k O1\r\nhi\r\n", "NS c0 ka O1\r\n");
    EXPECT("ms a 1 C999 c\r\nw\r\n", "EX c0\r\n");
    EXPECT("ms nope 1 C999\r\nw\r\n", "NF\r\n");
    EXPECT("ms a 1 C1 c\r\nw\r\n", "HD c2\r\n");
    EXPECT("ms a 1 MR C2\r\nv\r\n", "HD\r\n");       /* replace + C is a cas */
    EXPECT("ms a 1 MA C1\r\nv\r\n", "EX\r\n");       /* append checks the CAS */
    EXPECT("ms a 1 MA C3\r\nv\r\n", "HD\r\n");
    EXPECT("mg a v\r\n", "VA 2\r\nvv\r\n");
    EXPECT("ms a 2 s t f v h l u\r\nhi\r\n", "HD s2\r\n");
    ck_assert_uint_eq(ctr->cas_hits, 2);
    ck_assert_uint_eq(ctr->cas_badval, 1);
    ck_assert_uint_eq(ctr->cas_misses, 1);
    /* quiet: only HD is dropped */
    EXPECT("ms a 1 q\r\nw\r\n", "");
    EXPECT("ms a 1 q O5 k\r\nw\r\nmn\r\n", "MN\r\n");
    EXPECT("ms a 1 C999 q\r\nw\r\n", "EX\r\n");
    EXPECT("ms a 2 ME q\r\nhi\r\n", "NS\r\n");
    EXPECT("ms a 2 T-1\r\nhi\r\nmg a v\r\n", "HD\r\nEN\r\n");
}
END_TEST

START_TEST(ms_errors)
{
    /* errors once the length is known: the block is dropped */
    EXPECT("ms a 2 z\r\nhi\r\n", "CLIENT_ERROR invalid flag\r\n");
    EXPECT("ms a 2 F\r\nhi\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("ms a 2 Fabc\r\nhi\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("ms a 2 F-1\r\nhi\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("ms a 2 T\r\nhi\r\n", "CLIENT_ERROR bad token in command line format\r\n");
    EXPECT("ms a 2 Tx\r\nhi\r\n", "CLIENT_ERROR bad token in command line format\r\n");
    EXPECT("ms a 2 C\r\nhi\r\n", "CLIENT_ERROR bad token in command line format\r\n");
    EXPECT("ms a 2 N\r\nhi\r\n", "CLIENT_ERROR bad token in command line format\r\n");
    EXPECT("ms a 2 F1 F2\r\nhi\r\n", "CLIENT_ERROR duplicate flag\r\n");
    EXPECT("ms a 2 S3\r\nhi\r\n", "CLIENT_ERROR invalid flag\r\n");
    EXPECT("ms a 2 G5\r\nhi\r\n", "CLIENT_ERROR invalid flag\r\n");
    EXPECT("ms a 2 b\r\nhi\r\n", "CLIENT_ERROR error decoding key\r\n");
    EXPECT("ms a 2 O12345678901234567890123456789012\r\nhi\r\n",
           "CLIENT_ERROR opaque token too long\r\n");
    EXPECT("ms a 2 Ox\r\nhi\r\n", "HD Ox\r\n");
    /* errors before the length: the data comes as a command */
    EXPECT("ms a abc\r\nhi\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n");
    EXPECT("ms a -1\r\nhi\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n");
    EXPECT("ms a\r\nhi\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n");
    EXPECT("ms\r\n", "CLIENT_ERROR bad command line format\r\n");
    /* after it: the block is dropped */
    EXPECT("ms a 2 1 2 3 4 5 6 7 8 9 0 a b c d e f g\r\nhi\r\n", "CLIENT_ERROR invalid flag\r\n");
    EXPECT("ms a 2 1 2 3 4 5 6 7 8 9 0 a b c d e f g h\r\nhi\r\n",
           "CLIENT_ERROR options flags are too long\r\n");
    char line[400];
    memset(line, 'k', sizeof(line));
    memcpy(line, "ms ", 3);
    snprintf(line + 3 + 251, sizeof(line) - 3 - 251, " 2\r\nhi\r\n");
    EXPECT(line, "CLIENT_ERROR bad command line format\r\n");
    /* the block's end is checked: value+2 bytes are taken */
    EXPECT("ms a 2\r\nhix\r\n",
           "CLIENT_ERROR bad data chunk\r\nCLIENT_ERROR bad command line format\r\n");
    ck_assert_uint_eq(ctr->cmd_set, 2);   /* "Ox" and the bad chunk */
}
END_TEST

/* A big ms value fed in pieces goes into its item; replies as for a whole one. */
START_TEST(ms_big_value_into_item)
{
    enum { VLEN = 200000, PIECE = 3000 };
    static char in[VLEN + 128];
    int ll = snprintf(in, 128, "ms big %d T0 F5 O77 k c\r\n", VLEN);
    for (size_t i = 0; i < VLEN; i++)
        in[ll + i] = (char)(i % 251);
    memcpy(in + ll + VLEN, "\r\n", 2);
    size_t total = (size_t)ll + VLEN + 2;
    ck_assert_uint_eq(fx_run_n(in, (size_t)ll + 10), (size_t)ll + 10);
    ck_assert_uint_eq(last_need, 0);
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_ge(ss.chunk_bytes_used, VLEN);
    size_t off = (size_t)ll + 10;
    while (off < total) {
        size_t n = total - off < PIECE ? total - off : PIECE;
        ck_assert_uint_eq(fx_run_n(in + off, n), n);
        off += n;
    }
    ck_assert_str_eq(got, "HD O77 kbig c1\r\n");
    item *it = store_get(st, "big", 3, NULL);
    ck_assert_ptr_nonnull(it);
    ck_assert_uint_eq(item_flags(it), 5);
    ck_assert_mem_eq(item_value(it), in + ll, VLEN);
    store_release(st, it);
    /* a bad end: bad data chunk, nothing stored, the item handed back */
    in[total - 1] = 'x';
    ck_assert_uint_eq(fx_run_n(in, (size_t)ll + 10), (size_t)ll + 10);
    ck_assert_uint_eq(fx_run_n(in + ll + 10, total - ll - 10), total - ll - 10);
    ck_assert_str_eq(got, "CLIENT_ERROR bad data chunk\r\n");
    /* q: no HD; a reset mid-value hands the item back */
    in[total - 1] = '\n';
    ll = snprintf(in, 128, "ms big %d q\r\n", VLEN);
    ck_assert_uint_eq(fx_run_n(in, (size_t)ll + 10), (size_t)ll + 10);
    proto_conn_reset(&pc);
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.curr_items, 1);
    EXPECT("md big\r\n", "HD\r\n");
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.chunk_bytes_used, 0);
}
END_TEST

START_TEST(ms_waits_and_swallows)
{
    const char *part = "ms a 5 T0\r\nhel";
    ck_assert_uint_eq(fx_run(part), 0);
    ck_assert_uint_eq(last_need, strlen("ms a 5 T0\r\n") + 7);
    EXPECT("ms a 5 T0\r\nhello\r\n", "HD\r\n");
    /* too large: answered at once, the old value dropped, the block swallowed */
    enum { VLEN = 2000000, CHUNK = 4096 };
    static char buf[CHUNK];
    const char *line = "ms a 2000000 T0 q\r\n";
    size_t ll = strlen(line);
    memset(buf, 'z', sizeof(buf));
    memcpy(buf, line, ll);
    ck_assert_uint_eq(fx_run_n(buf, sizeof(buf)), sizeof(buf));
    ck_assert_str_eq(got, "SERVER_ERROR object too large for cache\r\n");
    ck_assert_uint_eq(pc.swallow, VLEN + 2 - (CHUNK - ll));
    pc.swallow = 0;
    EXPECT("mg a v\r\n", "EN\r\n");
    ck_assert_uint_eq(ctr->store_too_large, 1);
}
END_TEST

/* ---------------------------------------------------------------- md */

START_TEST(md_all)
{
    EXPECT("md a\r\n", "NF\r\n");
    EXPECT("md a q\r\n", "NF\r\n");              /* q hides only HD */
    EXPECT("md a O5 k\r\n", "NF O5 ka\r\n");
    EXPECT("ms a 2 F3\r\nhi\r\n", "HD\r\n");
    EXPECT("md a C9\r\n", "EX\r\n");
    EXPECT("md a q C9\r\n", "EX\r\n");
    EXPECT("md a C1 k O1\r\n", "HD ka O1\r\n");
    EXPECT("mg a\r\n", "EN\r\n");
    EXPECT("ms a 2\r\nhi\r\nmd a q\r\nmd a\r\n", "HD\r\nNF\r\n");
    EXPECT("ms a 2\r\nhi\r\nmd a T30\r\nmg a\r\n", "HD\r\nHD\r\nEN\r\n");  /* T without I: ignored */
    EXPECT("md a v c s t f h l u N9 R9 P L\r\n", "NF\r\n");
    EXPECT("md a x\r\n", "NF\r\n");
    EXPECT("md a Cx\r\n", "CLIENT_ERROR bad token in command line format\r\n");
    EXPECT("md a T\r\n", "CLIENT_ERROR bad token in command line format\r\n");
    EXPECT("md a b\r\n", "CLIENT_ERROR error decoding key\r\n");
    EXPECT("md a q q\r\n", "CLIENT_ERROR duplicate flag\r\n");
    EXPECT("md a O123456789012345678901234567890123\r\n", "CLIENT_ERROR opaque token too long\r\n");
    EXPECT("md\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("ms YQ== 1 b\r\nx\r\nmd YQ== b k\r\nmd YQ== k b\r\n", "HD\r\nHD kYQ== b\r\nNF kYQ== b\r\n");
    ck_assert_uint_eq(ctr->delete_hits, 4);
    ck_assert_uint_eq(ctr->delete_misses, 9);
}
END_TEST

/* ---------------------------------------------------------------- ma */

START_TEST(ma_all)
{
    EXPECT("ma n\r\n", "NF\r\n");
    EXPECT("ma n q\r\n", "NF\r\n");
    EXPECT("ma n MD\r\n", "NF\r\n");
    EXPECT("ma n O3 k t c\r\n", "NF O3 kn\r\n");
    ck_assert_uint_eq(ctr->incr_misses, 3);
    ck_assert_uint_eq(ctr->decr_misses, 1);
    EXPECT("ma n N0\r\n", "HD\r\n");             /* created with J (0), no delta */
    EXPECT("ma n v\r\n", "VA 1\r\n1\r\n");
    EXPECT("ma n N30 J10 v t c\r\n", "VA 1 t-1 c3\r\n2\r\n");
    EXPECT("ma n v MI D5\r\n", "VA 1\r\n7\r\n");
    EXPECT("ma n v M+ D5\r\n", "VA 2\r\n12\r\n");
    EXPECT("ma n v MD D100\r\n", "VA 1\r\n0\r\n");
    EXPECT("ma n v M- D1\r\n", "VA 1\r\n0\r\n");
    EXPECT("ma n q\r\nma n q v\r\n", "");
    EXPECT("ma n k O3\r\n", "HD kn O3\r\n");
    EXPECT("mg n v\r\n", "VA 2\r\n3 \r\n");      /* rewritten in place, padded */
    EXPECT("ma n C1 v\r\n", "EX\r\n");
    EXPECT("ma n C1 q\r\n", "EX\r\n");
    EXPECT("ma n C0 v\r\n", "VA 1\r\n4\r\n");     /* C0: no check, as memcached */
    EXPECT("ma n t T100 v\r\n", "VA 1 t-1\r\n5\r\n");   /* t before T: old TTL */
    EXPECT("ma n T100 t v\r\n", "VA 1 t100\r\n6\r\n");
    EXPECT("ma n t T100 t v\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n");
    EXPECT("ma n v f s\r\n", "VA 1\r\n7\r\n");
    ck_assert_uint_eq(ctr->incr_hits, 11);
    ck_assert_uint_eq(ctr->decr_hits, 2);
    EXPECT("ma m N50 J7 t v q\r\n", "");  /* created: quiet too (1.6.45) */
    EXPECT("mg m v t\r\n", "VA 1 t50\r\n7\r\n");
    EXPECT("ms n 3\r\nabc\r\nma n v\r\n",
           "HD\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
    EXPECT("ms n 2\r\n18\r\nma n v D18446744073709551615\r\n", "HD\r\nVA 2\r\n17\r\n");
    EXPECT("ma Zm9v b k N0 J5 v\r\n", "VA 1 kZm9v b\r\n5\r\n");
    EXPECT("ma Zm9v k b v\r\n", "VA 1 kZm9v b\r\n6\r\n");
    EXPECT("ma n v Md\r\n", "CLIENT_ERROR invalid mode for ma M token\r\n");
    EXPECT("ma n v Mi\r\n", "CLIENT_ERROR invalid mode for ma M token\r\n");
    EXPECT("ma n v D\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n");
    EXPECT("ma n v D-1\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n");
    EXPECT("ma n v D18446744073709551616\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n");
    EXPECT("ma n v N0 Jabc\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n");
    EXPECT("ma n y\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n");
    EXPECT("ma\r\n", "CLIENT_ERROR bad command line format\r\n");
}
END_TEST

/* ---------------------------------------------------------------- flag parsing */

START_TEST(flag_errors)
{
    EXPECT("mg\r\nmg \r\n", "CLIENT_ERROR bad command line format\r\n"
                                 "CLIENT_ERROR bad command line format\r\n");
    EXPECT("mg foo y\r\n", "CLIENT_ERROR invalid flag\r\n");
    EXPECT("mg foo G5\r\n", "CLIENT_ERROR invalid flag\r\n");
    EXPECT("mg foo i\r\n", "CLIENT_ERROR invalid flag\r\n");
    EXPECT("mg foo v v\r\n", "CLIENT_ERROR duplicate flag\r\n");
    EXPECT("mg foo t T30 t\r\n", "CLIENT_ERROR duplicate flag\r\n");
    EXPECT("mg foo T\r\n", "CLIENT_ERROR bad token in command line format\r\n");
    EXPECT("mg foo Tabc\r\n", "CLIENT_ERROR bad token in command line format\r\n");
    EXPECT("mg foo N\r\n", "CLIENT_ERROR bad token in command line format\r\n");
    EXPECT("mg foo Rx\r\n", "CLIENT_ERROR bad token in command line format\r\n");
    EXPECT("mg foo Dabc\r\n", "CLIENT_ERROR invalid numeric delta value\r\n");
    EXPECT("mg foo Jabc\r\n", "CLIENT_ERROR invalid numeric initial value\r\n");
    EXPECT("mg foo F-1\r\n", "CLIENT_ERROR bad command line format\r\n");
    /* a bad value is remembered, a later one replaces it; unknown stops at once */
    EXPECT("mg foo T Dx\r\n", "CLIENT_ERROR invalid numeric delta value\r\n");
    EXPECT("mg foo Dx T\r\n", "CLIENT_ERROR bad token in command line format\r\n");
    EXPECT("mg foo T y\r\n", "CLIENT_ERROR invalid flag\r\n");
    EXPECT("mg foo T v v\r\n", "CLIENT_ERROR duplicate flag\r\n");
    EXPECT("mg foo O123456789012345678901234567890123\r\n", "CLIENT_ERROR opaque token too long\r\n");
    EXPECT("mg foo O1234567890123456789012345678901\r\n", "EN O1234567890123456789012345678901\r\n");
    EXPECT("mg a 1 2 3 4 5 6 7 8 9 0 a b c d e f g\r\n", "CLIENT_ERROR invalid flag\r\n");
    EXPECT("mg a 1 2 3 4 5 6 7 8 9 0 a b c d e f g h\r\n", "CLIENT_ERROR invalid flag\r\n");
    EXPECT("mg a 1 2 3 4 5 6 7 8 9 0 a b c d e f g h i\r\n",
           "CLIENT_ERROR options flags are too long\r\n");
    EXPECT("mg a 1 2 3 4 5 6 7 8 9 0 a b c d e f g h i j k l m n o p\r\n",
           "CLIENT_ERROR options flags are too long\r\n");
    char line[300];
    memset(line, 'k', sizeof(line));
    memcpy(line, "mg ", 3);
    snprintf(line + 3 + 251, sizeof(line) - 3 - 251, " v\r\n");
    EXPECT(line, "CLIENT_ERROR bad command line format\r\n");
    line[3 + 250] = ' ';                          /* 250 bytes: fine */
    EXPECT(line, "EN\r\n");
    ck_assert_uint_eq(ctr->cmd_get, 2);
}
END_TEST

START_TEST(pipeline_quiet)
{
    EXPECT("ms a 1 q\r\n1\r\nms b 1 q\r\n2\r\nmg a v q\r\nmg x v q\r\nmg b v q k\r\nmn\r\n",
           "VA 1\r\n1\r\nVA 1 kb\r\n2\r\nMN\r\n");
    /* split at every byte: nothing is lost or doubled */
    const char *in = "ms c 3 T0 c\r\nabc\r\nmg c v c\r\nmn\r\n";
    size_t len = strlen(in);
    char acc[256];
    size_t acc_len = 0, off = 0;
    for (size_t cut = 1; off < len; cut++) {
        size_t avail = (cut < len ? cut : len) - off;
        size_t n = fx_run_n(in + off, avail);
        memcpy(acc + acc_len, got, got_len);
        acc_len += got_len;
        off += n;
        if (cut > 2 * len)
            break;
    }
    acc[acc_len] = '\0';
    ck_assert_uint_eq(off, len);
    ck_assert_str_eq(acc, "HD c3\r\nVA 3 c3\r\nabc\r\nMN\r\n");
}
END_TEST

static Suite *proto_meta_suite(void)
{
    Suite *s = suite_create("proto_meta");
    TCase *tc = tcase_create("commands");
    tcase_add_checked_fixture(tc, setup, fx_proto_teardown);
    tcase_add_test(tc, noop_and_debug);
    tcase_add_test(tc, mg_hit_flags);
    tcase_add_test(tc, mg_miss);
    tcase_add_test(tc, mg_ttl_and_touch);
    tcase_add_test(tc, mg_base64_keys);
    tcase_add_test(tc, mg_unprintable_key_echoed_in_base64);
    tcase_add_test(tc, mg_vivify_win_stale);
    tcase_add_test(tc, ms_modes);
    tcase_add_test(tc, ms_cas_and_return_flags);
    tcase_add_test(tc, ms_errors);
    tcase_add_test(tc, ms_waits_and_swallows);
    tcase_add_test(tc, ms_big_value_into_item);
    tcase_add_test(tc, md_all);
    tcase_add_test(tc, ma_all);
    tcase_add_test(tc, flag_errors);
    tcase_add_test(tc, pipeline_quiet);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(proto_meta_suite());
}
