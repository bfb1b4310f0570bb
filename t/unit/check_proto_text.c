/*
 * check_proto_text: the text protocol (protocol/text.c) fed from byte
 * strings against a real store, with a fake proto_env whose stats and
 * verbosity callbacks record their calls. Replies are compared byte for byte
 * with what memcached 1.6.18 sends for the same input; CAS values are
 * written out, as a fresh store per test counts them from 1.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "config.h"
#include "protocol/proto.h"
#include "protocol/reply.h"
#include "protocol/text_parse.h"
#include "slabs/store.h"
#include "t/unit/fixture_proto.h"

static void setup(void)
{
    fx_proto_setup(FX_GOT_MAX, true);
}

/* One call, reply collected afresh. */
static size_t step(const char *in, size_t len)
{
    got_len = 0;
    size_t n = proto_process(&pc, in, len, out, &last_action, &last_need);
    fx_drain();
    return n;
}

/*
 * Feeds in the way a server would: bytes arrive `chunk` at a time into a
 * buffer, requests are processed as soon as they are whole. Returns the
 * concatenated reply in got[].
 */
static void feed(const char *in, size_t len, size_t chunk)
{
    static char all[FX_GOT_MAX];
    size_t all_len = 0, start = 0, have = 0;
    while (have < len || start < have) {
        size_t add = len - have < chunk ? len - have : chunk;
        have += add;
        for (;;) {
            got_len = 0;
            size_t n = proto_process(&pc, in + start, have - start, out, &last_action,
                                     &last_need);
            fx_drain();
            memcpy(all + all_len, got, got_len);
            all_len += got_len;
            start += n;
            if (n == 0 || start == have)
                break;
        }
        if (add == 0)
            break;
    }
    ck_assert_uint_eq(start, len);
    memcpy(got, all, all_len);
    got_len = all_len;
    got[got_len] = '\0';
}

static char *long_key(size_t n)
{
    char *k = malloc(n + 1);
    memset(k, 'k', n);
    k[n] = '\0';
    return k;
}

#define C(name) counter_get(&ctr->name)

/* ------------------------------------------------------------ good paths */

START_TEST(set_get)
{
    EXPECT("set a 5 0 3\r\nabc\r\n", "STORED\r\n");
    EXPECT("get a\r\n", "VALUE a 5 3\r\nabc\r\nEND\r\n");
    EXPECT("get nope\r\n", "END\r\n");
    EXPECT("set a 4294967295 0 0\r\n\r\n", "STORED\r\n");
    EXPECT("get a\r\n", "VALUE a 4294967295 0\r\n\r\nEND\r\n");
}
END_TEST

START_TEST(lines_end_with_lf_alone)
{
    EXPECT("set a 0 0 1\nx\r\nget a\n", "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
    /* only one '\r' is dropped: "a\r" is another key */
    EXPECT("get a\r\r\n", "END\r\n");
    EXPECT("  get   a  \r\n", "VALUE a 0 1\r\nx\r\nEND\r\n");
}
END_TEST

START_TEST(multi_get_and_gets)
{
    EXPECT("set a 1 0 1\r\nA\r\nset b 2 0 2\r\nBB\r\n", "STORED\r\nSTORED\r\n");
    EXPECT("get a x b a\r\n",
           "VALUE a 1 1\r\nA\r\nVALUE b 2 2\r\nBB\r\nVALUE a 1 1\r\nA\r\nEND\r\n");
    /* a fresh store's CAS values count from 1, one per store */
    EXPECT("gets a b\r\n", "VALUE a 1 1 1\r\nA\r\nVALUE b 2 2 2\r\nBB\r\nEND\r\n");
}
END_TEST

START_TEST(add_replace_append_prepend)
{
    EXPECT("add k 0 0 1\r\n1\r\n", "STORED\r\n");
    EXPECT("add k 0 0 1\r\n2\r\n", "NOT_STORED\r\n");
    EXPECT("replace nope 0 0 1\r\n2\r\n", "NOT_STORED\r\n");
    EXPECT("replace k 3 0 1\r\n2\r\n", "STORED\r\n");
    EXPECT("append k 0 0 2\r\n34\r\n", "STORED\r\n");
    EXPECT("prepend k 0 0 2\r\n01\r\n", "STORED\r\n");
    EXPECT("append nope 0 0 1\r\n1\r\n", "NOT_STORED\r\n");
    EXPECT("prepend nope 0 0 1\r\n1\r\n", "NOT_STORED\r\n");
    EXPECT("get k\r\n", "VALUE k 3 5\r\n01234\r\nEND\r\n");
}
END_TEST

START_TEST(cas_command)
{
    EXPECT("set k 0 0 1\r\na\r\n", "STORED\r\n");   /* CAS 1 on a fresh store */
    EXPECT("cas k 0 0 1 1001\r\nb\r\n", "EXISTS\r\n");
    EXPECT("cas k 0 0 1 1\r\nb\r\n", "STORED\r\n");
    EXPECT("cas k 0 0 1 1\r\nb\r\n", "EXISTS\r\n");   /* the unique changed */
    EXPECT("cas nope 0 0 1 1\r\nb\r\n", "NOT_FOUND\r\n");
    EXPECT("get k\r\n", "VALUE k 0 1\r\nb\r\nEND\r\n");
    /* no unique or a bad one (1.6.45): refused, the data block swallowed */
    EXPECT("cas k 0 0 1\r\nb\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("cas k 0 0 1 abc\r\nb\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("cas k 0 0 1 -1\r\nb\r\n", "CLIENT_ERROR bad command line format\r\n");
    ck_assert_uint_eq(C(cas_hits), 1);
    ck_assert_uint_eq(C(cas_badval), 2);
    ck_assert_uint_eq(C(cas_misses), 1);
}
END_TEST

START_TEST(incr_decr)
{
    EXPECT("set n 0 0 2\r\n10\r\n", "STORED\r\n");
    EXPECT("incr n 5\r\n", "15\r\n");
    EXPECT("decr n 100\r\n", "0\r\n");
    EXPECT("incr n 18446744073709551615\r\n", "18446744073709551615\r\n");
    EXPECT("incr n 1\r\n", "0\r\n");            /* wraps at 2^64 */
    EXPECT("incr n 18446744073709551616\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n");
    EXPECT("incr n -1\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n");
    EXPECT("incr n abc\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n");
    EXPECT("incr nope 1\r\n", "NOT_FOUND\r\n");
    EXPECT("decr nope 1\r\n", "NOT_FOUND\r\n");
    EXPECT("set s 0 0 1\r\nx\r\n", "STORED\r\n");
    EXPECT("incr s 1\r\n",
           "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
    EXPECT("incr n 1 2\r\n", "1\r\n");          /* a 4th token is ignored */
    EXPECT("incr n\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("incr n +1\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n");
    EXPECT("incr n 1 2 3\r\n", "2\r\n");      /* 1.6.45: tokens after the delta ignored */
    ck_assert_uint_eq(C(incr_hits), 5);
    ck_assert_uint_eq(C(decr_hits), 1);
    ck_assert_uint_eq(C(incr_misses), 1);
    ck_assert_uint_eq(C(decr_misses), 1);
}
END_TEST

START_TEST(delete_forms)
{
    EXPECT("set a 0 0 1\r\nx\r\n", "STORED\r\n");
    EXPECT("delete a\r\n", "DELETED\r\n");
    EXPECT("delete a\r\n", "NOT_FOUND\r\n");
    EXPECT("set a 0 0 1\r\nx\r\n", "STORED\r\n");
    EXPECT("delete a 0\r\n", "DELETED\r\n");
    EXPECT("set a 0 0 1\r\nx\r\n", "STORED\r\n");
    EXPECT("delete a noreply\r\nget a\r\n", "END\r\n");
    EXPECT("delete a 0 noreply\r\n", "");
    /* 1.6.18's rule, which memccapable checks (1.6.45 ignores what follows the key) */
    const char *usage = "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n";
    EXPECT("delete a 5\r\n", usage);
    EXPECT("delete a x\r\n", usage);
    EXPECT("delete a b c\r\n", usage);
    EXPECT("delete a 0 x\r\n", usage);
    EXPECT("delete a 5 noreply\r\n", "");
    EXPECT("delete a b c d\r\n", "ERROR\r\n");
    EXPECT("delete\r\n", "CLIENT_ERROR bad command line format\r\n");   /* 1.6.45 */
    ck_assert_uint_eq(C(delete_hits), 3);
    ck_assert_uint_eq(C(delete_misses), 2);
}
END_TEST

START_TEST(touch_gat_gats)
{
    EXPECT("set a 0 0 1\r\nx\r\n", "STORED\r\n");
    EXPECT("touch a 100\r\n", "TOUCHED\r\n");
    EXPECT("touch a 100 x\r\n", "TOUCHED\r\n");
    EXPECT("touch a 100 noreply\r\n", "");
    EXPECT("touch nope 100\r\n", "NOT_FOUND\r\n");
    EXPECT("touch a abc\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
    EXPECT("touch a\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("touch a +1\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
    EXPECT("gat 100 a nope\r\n", "VALUE a 0 1\r\nx\r\nEND\r\n");
    EXPECT("gats 100 a\r\n", "VALUE a 0 1 1\r\nx\r\nEND\r\n");   /* touch keeps CAS 1 */
    EXPECT("gat 10\r\n", "CLIENT_ERROR bad command line format\r\n");   /* 1.6.45: a key */
    EXPECT("gat\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("gat abc a\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
    /* touching to the past expires it */
    EXPECT("touch a -1\r\n", "TOUCHED\r\n");
    EXPECT("get a\r\n", "END\r\n");
    ck_assert_uint_eq(C(cmd_touch), 8);
    ck_assert_uint_eq(C(touch_hits), 6);
    ck_assert_uint_eq(C(touch_misses), 2);
    ck_assert_uint_eq(C(cmd_get), 3 + 1);
}
END_TEST

START_TEST(expiry_counts)
{
    EXPECT("set a 0 10 1\r\nx\r\n", "STORED\r\n");
    clock_advance(11);
    EXPECT("get a\r\n", "END\r\n");
    ck_assert_uint_eq(C(get_expired), 1);
    ck_assert_uint_eq(C(get_misses), 1);
    EXPECT("set b 0 0 1\r\nx\r\nflush_all\r\n", "STORED\r\nOK\r\n");
    EXPECT("get b\r\n", "END\r\n");
    ck_assert_uint_eq(C(get_flushed), 1);
    ck_assert_uint_eq(C(get_misses), 2);
    ck_assert_uint_eq(C(cmd_flush), 1);
}
END_TEST

START_TEST(flush_all_forms)
{
    EXPECT("flush_all\r\n", "OK\r\n");
    EXPECT("flush_all 0\r\n", "OK\r\n");
    EXPECT("flush_all noreply\r\n", "");
    EXPECT("flush_all 0 noreply\r\n", "");
    EXPECT("flush_all -1\r\n", "OK\r\n");
    EXPECT("flush_all 0 0\r\n", "OK\r\n");
    EXPECT("flush_all abc\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
    EXPECT("flush_all noreply x\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
    EXPECT("flush_all 1 2 3\r\n", "OK\r\n");     /* 1.6.45: extra tokens ignored */
    EXPECT("flush_all +1\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
    ck_assert_uint_eq(C(cmd_flush), 10);   /* as memcached: refused ones count too */
    /* a delayed flush takes effect later */
    EXPECT("set a 0 0 1\r\nx\r\nflush_all 5\r\nget a\r\n",
           "STORED\r\nOK\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
    clock_advance(6);
    EXPECT("get a\r\n", "END\r\n");
}
END_TEST

START_TEST(version_verbosity_quit)
{
    EXPECT("version\r\n", "VERSION " PROTOCOL_VERSION "\r\n");
    EXPECT("version x\r\n", "VERSION " PROTOCOL_VERSION "\r\n");
    EXPECT("verbosity 1\r\n", "OK\r\n");
    ck_assert_int_eq(verbosity_calls, 1);
    ck_assert_int_eq(verbosity_level, 1);
    EXPECT("verbosity 9 noreply\r\n", "");
    ck_assert_int_eq(verbosity_level, 2);       /* memcached's cap */
    EXPECT("verbosity 0 2\r\n", "OK\r\n");
    ck_assert_int_eq(verbosity_level, 0);
    EXPECT("verbosity abc\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("verbosity noreply\r\n", "");
    EXPECT("verbosity\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("verbosity 1 2 3\r\n", "OK\r\n");       /* 1.6.45: extra tokens ignored */
    ck_assert_int_eq(verbosity_calls, 4);

    ck_assert_uint_eq(fx_run("quit\r\nget a\r\n"), 6);
    ck_assert_int_eq(last_action, PROTO_CLOSE);
    ck_assert_str_eq(got, "");
}
END_TEST

START_TEST(shutdown_command)
{
    EXPECT("shutdown\r\n", "SERVER_ERROR: shutdown not enabled\r\n");
    env.shutdown_enabled = true;
    ck_assert_uint_eq(fx_run("shutdown foo\r\n"), 14);
    ck_assert_str_eq(got, "CLIENT_ERROR invalid shutdown mode\r\n");
    ck_assert_uint_eq(fx_run("shutdown\r\n"), 10);
    ck_assert_int_eq(last_action, PROTO_SHUTDOWN);
    ck_assert_str_eq(got, "");
    ck_assert_uint_eq(fx_run("shutdown graceful\r\n"), 19);
    ck_assert_int_eq(last_action, PROTO_SHUTDOWN_GRACEFUL);
    ck_assert_str_eq(got, "");
}
END_TEST

START_TEST(cache_memlimit)
{
    EXPECT("cache_memlimit 64\r\n", "OK\r\n");
    EXPECT("cache_memlimit 64 noreply\r\n", "");
    EXPECT("cache_memlimit 64 1\r\n", "OK\r\n");
    EXPECT("cache_memlimit 7\r\n", "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n");
    EXPECT("cache_memlimit 0\r\n", "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n");
    EXPECT("cache_memlimit 1000000001\r\n",
           "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n");
    EXPECT("cache_memlimit abc\r\n", "ERROR\r\n");
    EXPECT("cache_memlimit -5\r\n", "ERROR\r\n");
    EXPECT("cache_memlimit\r\n", "ERROR\r\n");
    /* memcached 1.6.45: bare digits, at most 11 of them; later tokens ignored */
    EXPECT("cache_memlimit +64\r\n", "ERROR\r\n");
    EXPECT("cache_memlimit 000000000064\r\n", "ERROR\r\n");
    EXPECT("cache_memlimit 4294967296\r\n", "ERROR\r\n");
    EXPECT("cache_memlimit 00000000064 1 2\r\n", "OK\r\n");
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.limit_maxbytes, 64u * 1024 * 1024);
}
END_TEST

/* slabs reassign / automove: memcached 1.6.45's parsing; a fresh store has
 * no page to spare. */
START_TEST(slabs_commands)
{
    EXPECT("slabs reassign 1 2\r\n", "CLIENT_ERROR slab reassignment disabled\r\n");
    env.slab_reassign = true;
    EXPECT("slabs reassign 1 1\r\n", "SAME src and dst class are identical\r\n");
    EXPECT("slabs reassign 1 2\r\n", "NOSPARE source class has no spare pages\r\n");
    EXPECT("slabs reas 1 2\r\n", "NOSPARE source class has no spare pages\r\n");
    EXPECT("slabs reassign 1 999\r\n", "BADCLASS invalid src or dst class id\r\n");
    EXPECT("slabs reassign -2 1\r\n", "BADCLASS invalid src or dst class id\r\n");
    EXPECT("slabs reassign x 1\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("slabs reassign +1 2\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("slabs reassign 000000000001 2\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("slabs reassign 2147483648 1\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("slabs reassign 1 2 3\r\n", "ERROR\r\n");
    EXPECT("slabs reassign 1 2 noreply\r\n", "");
    EXPECT("slabs reassigned 1 2\r\n", "ERROR\r\n");
    EXPECT("slabs\r\n", "ERROR\r\n");
    EXPECT("slabs automove\r\n", "ERROR\r\n");
    EXPECT("slabs automove 0\r\n", "OK\r\n");
    ck_assert_uint_eq(store_automove(st), AUTOMOVE_OFF);
    EXPECT("slabs a 2 extra\r\n", "OK\r\n");
    ck_assert_uint_eq(store_automove(st), AUTOMOVE_AGGRESSIVE);
    EXPECT("slabs automove 1 noreply\r\n", "");
    ck_assert_uint_eq(store_automove(st), AUTOMOVE_OURS);
    EXPECT("slabs automove 3\r\n", "ERROR\r\n");
    EXPECT("slabs automove 4294967296\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("slabs automove -1\r\n", "CLIENT_ERROR bad command line format\r\n");
    ck_assert_uint_eq(store_automove(st), AUTOMOVE_OURS);
    /* the tuning, with memcached 1.6.45's parsing (prefixes, strtod) */
    struct store_automove_tuning t;
    EXPECT("slabs automove ratio 0.7\r\n", "OK\r\n");
    EXPECT("slabs automove f 0.03\r\n", "OK\r\n");
    EXPECT("slabs automove w 10\r\n", "OK\r\n");
    store_automove_tuning(st, &t);
    ck_assert_double_eq(t.ratio, 0.7);
    ck_assert_double_eq(t.freeratio, 0.03);
    ck_assert_uint_eq(t.window, 10);
    EXPECT("slabs automove ratio\r\n", "ERROR\r\n");
    EXPECT("slabs automove ratio x\r\n", "ERROR\r\n");
    EXPECT("slabs automove ratio 1e400\r\n", "ERROR\r\n");
    EXPECT("slabs automove ratios 0.5\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("slabs automove window 2\r\n", "CLIENT_ERROR automove window too low or too high\r\n");
    EXPECT("slabs automove window 1801\r\n",
           "CLIENT_ERROR automove window too low or too high\r\n");
    EXPECT("slabs automove window x\r\n", "CLIENT_ERROR bad command line format\r\n");
    /* ours: a ratio our automove cannot use is refused with the reason */
    EXPECT("slabs automove ratio 5\r\n",
           "CLIENT_ERROR slab_automove_ratio must be above 0 and at most 1\r\n");
    store_automove_tuning(st, &t);
    ck_assert_double_eq(t.ratio, 0.7);
    ck_assert_uint_eq(t.window, 10);
}
END_TEST

START_TEST(stats_commands)
{
    EXPECT("stats\r\n", "STAT pid 42\r\nSTAT uptime 7\r\nEND\r\n");
    ck_assert_str_eq(stats_group, "");
    EXPECT("stats slabs\r\n", "STAT 1:chunk_size 96\r\nEND\r\n");
    ck_assert_str_eq(stats_group, "slabs");
    EXPECT("stats slabs extra\r\n", "STAT 1:chunk_size 96\r\nEND\r\n");
    EXPECT("stats foo\r\n", "ERROR\r\n");
    ck_assert_str_eq(stats_group, "foo");
    EXPECT("stats noreply\r\n", "ERROR\r\n");
    ck_assert_int_eq(stats_calls, 5);
    EXPECT("stats reset\r\n", "RESET\r\n");
    EXPECT("stats reset x\r\n", "RESET\r\n");
    ck_assert_int_eq(reset_calls, 2);
    ck_assert_int_eq(stats_calls, 5);
}
END_TEST

/* ------------------------------------------------------------ framing */

START_TEST(pipelined_in_one_buffer)
{
    const char *in = "set a 0 0 1\r\n1\r\nset b 0 0 1 noreply\r\n2\r\nget a b\r\n"
                     "incr a 9\r\ndelete b\r\nbogus\r\nget a\r\n";
    EXPECT(in, "STORED\r\nVALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nEND\r\n10\r\n"
               "DELETED\r\nERROR\r\nVALUE a 0 2\r\n10\r\nEND\r\n");
}
END_TEST

/* Every prefix of one request is "incomplete" with no side effect. */
static void check_every_split(const char *req, const char *reply, size_t need_after_line)
{
    size_t len = strlen(req);
    const char *nl = strchr(req, '\n');
    size_t line = (size_t)(nl - req) + 1;
    for (size_t i = 0; i < len; i++) {
        ck_assert_uint_eq(step(req, i), 0);
        ck_assert_str_eq(got, "");
        ck_assert_uint_eq(last_need, i >= line ? need_after_line : 0);
    }
    ck_assert_uint_eq(step(req, len), len);
    ck_assert_str_eq(got, reply);
}

START_TEST(split_at_every_byte)
{
    check_every_split("set key 1 0 10\r\n0123456789\r\n", "STORED\r\n", 28);
    check_every_split("get key\r\n", "VALUE key 1 10\r\n0123456789\r\nEND\r\n", 0);
    check_every_split("append key 0 0 2 noreply\r\nab\r\n", "", 30);
    check_every_split("incr nope 1\r\n", "NOT_FOUND\r\n", 0);
    /* and a server-like feed of a pipeline, one byte at a time */
    const char *in = "set x 0 0 3\r\nabc\r\nget x key\r\ndelete x\r\nget x\r\n";
    feed(in, strlen(in), 1);
    ck_assert_str_eq(got, "STORED\r\nVALUE x 0 3\r\nabc\r\nVALUE key 1 12\r\n0123456789ab\r\n"
                          "END\r\nDELETED\r\nEND\r\n");
}
END_TEST

/* ------------------------------------------------------------ malformed */

START_TEST(unknown_empty_and_arity)
{
    EXPECT("bogus\r\n", "ERROR\r\n");
    EXPECT("GET a\r\n", "ERROR\r\n");
    EXPECT("get\ta\r\n", "ERROR\r\n");
    /* 1.6.45: a line under 4 bytes with its '\n' is a format error */
    EXPECT("\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT(" \r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("ab\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("mn\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("ab\r\n", "ERROR\r\n");
    EXPECT("   \r\n", "ERROR\r\n");
    /* 1.6.45: too few tokens for a command its parser reads is a format error */
    EXPECT("get\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("get \r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("set a 0 0\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("set\r\n", "CLIENT_ERROR bad command line format\r\n");
    /* ...and tokens past the length are ignored; noreply is the last one */
    EXPECT("set a 0 0 1 2 3\r\nx\r\n", "STORED\r\n");
    EXPECT("set a 0 0 1 noreply 3\r\nx\r\n", "STORED\r\n");
    EXPECT("set a 0 0 1 a b c d e f g h i j\r\nx\r\n", "STORED\r\n");
    EXPECT("set a 0 0 1 a b c d e f g h i j noreply\r\nx\r\n", "");
    /* a 6th token that is not noreply is ignored */
    EXPECT("set a 0 0 1 foo\r\nx\r\n", "STORED\r\n");
}
END_TEST

/* -Y's check, faked: one user. */
static bool fake_auth(void *arg, const char *user, size_t ulen, const char *pass, size_t plen)
{
    (void)arg;
    return ulen == 5 && memcmp(user, "alice", 5) == 0 && plen == 6 &&
           memcmp(pass, "secret", 6) == 0;
}

/* Under -Y a connection logs in first, as memcached 1.6.45's ascii auth. */
START_TEST(ascii_auth_login)
{
    env.auth_check = fake_auth;
    proto_conn_init(&pc, &env, ctr);
    EXPECT("version\r\n", "CLIENT_ERROR unauthenticated\r\n");
    EXPECT("set a 0 0\r\n", "CLIENT_ERROR unauthenticated\r\n");
    EXPECT("set a 0 0 +5\r\n", "CLIENT_ERROR unauthenticated\r\n");
    EXPECT("set a 0 0 16385\r\n", "CLIENT_ERROR auth token too long\r\n");
    EXPECT("set a 0 0 12\r\nalice secreX\r\n", "CLIENT_ERROR authentication failure\r\n");
    EXPECT("set a 0 0 11\r\nalicesecret\r\n", "CLIENT_ERROR bad authentication token format\r\n");
    EXPECT("set a 0 0 10\r\nalice secret", "CLIENT_ERROR bad command line termination\r\n");
    ck_assert_uint_eq(counter_get(&ctr->auth_cmds), 1);
    ck_assert_uint_eq(counter_get(&ctr->auth_errors), 1);
    /* the whole login is waited for, its size said */
    const char *login = "set a 0 0 12\r\nalice secret\r\n";
    ck_assert_uint_eq(step(login, strlen(login) - 1), 0);
    ck_assert_uint_eq(last_need, strlen(login));
    feed(login, strlen(login), 1);
    ck_assert_str_eq(got, "STORED\r\n");
    ck_assert_uint_eq(counter_get(&ctr->auth_cmds), 2);
    ck_assert_uint_eq(counter_get(&ctr->auth_errors), 1);
    EXPECT("set a 0 0 1\r\nx\r\nget a\r\n", "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
}
END_TEST

/* Before a login: a line too short for one, or none in AUTH_WAIT_MAX bytes, hangs up. */
START_TEST(ascii_auth_hangs_up)
{
    env.auth_check = fake_auth;
    proto_conn_init(&pc, &env, ctr);
    ck_assert_uint_eq(step("get\r\n", 5), 5);
    ck_assert_int_eq(last_action, PROTO_CLOSE);
    ck_assert_str_eq(got, "");
    proto_conn_init(&pc, &env, ctr);
    static char junk[3000];
    memset(junk, 'x', sizeof(junk));
    ck_assert_uint_eq(step(junk, 2048), 0);             /* still waiting for its '\n' */
    ck_assert_int_eq(last_action, PROTO_CONTINUE);
    ck_assert_uint_eq(step(junk, sizeof(junk)), sizeof(junk));
    ck_assert_int_eq(last_action, PROTO_CLOSE);
    ck_assert_uint_eq(counter_get(&ctr->auth_cmds), 0);
}
END_TEST

/* An unknown command whose last token starts "HTTP/" closes, no reply (1.6.45). */
START_TEST(http_lines_close)
{
    static const char *const closing[] = {
        "GET / HTTP/1.0\r\nversion\r\n", "POST /x HTTP/1.1 \r\nversion\r\n",
        "HEAD / HTTP/1.1\r\n", "PUT /a HTTP/2\r\n", "FOO HTTP/\r\n",
    };
    for (size_t i = 0; i < sizeof(closing) / sizeof(closing[0]); i++) {
        ck_assert_uint_eq(fx_run(closing[i]), strcspn(closing[i], "\n") + 1);
        ck_assert_int_eq(last_action, PROTO_CLOSE);
        ck_assert_str_eq(got, "");
    }
    /* one token, no "HTTP/" prefix, or a known command: answered as before */
    EXPECT("HTTP/1.1\r\n", "ERROR\r\n");
    EXPECT("FOO HTTP\r\n", "ERROR\r\n");
    EXPECT("FOO HTTP/1.0 x\r\n", "ERROR\r\n");
    EXPECT("get / HTTP/1.0\r\n", "END\r\n");
}
END_TEST

START_TEST(bad_numbers)
{
    /* 1.6.45: a bad length refuses the line alone ("x" then is a short line),
     * bad flags or exptime refuse the data block too */
    const char *bad_len = "CLIENT_ERROR bad command line format\r\n"
                          "CLIENT_ERROR bad command line format\r\n";
    const char *bad = "CLIENT_ERROR bad command line format\r\n";
    EXPECT("set a 0 0 -1\r\nx\r\n", bad_len);
    EXPECT("set a 0 0 abc\r\nx\r\n", bad_len);
    EXPECT("set a 0 0 1x\r\nx\r\n", bad_len);
    EXPECT("set a 0 0 +1\r\nx\r\n", bad_len);
    EXPECT("set a abc 0 1\r\nx\r\n", bad);
    EXPECT("set a -1 0 1\r\nx\r\n", bad);
    EXPECT("set a 4294967296 0 1\r\nx\r\n", bad);   /* 1.6.45 stores it, flags cut */
    EXPECT("set a 0 abc 1\r\nx\r\n", bad);
    EXPECT("set a 0 0 2147483646\r\n", "CLIENT_ERROR bad command line format\r\n");
    EXPECT("set a 0 0 99999999999999999999\r\n", "CLIENT_ERROR bad command line format\r\n");
    /* accepted forms */
    EXPECT("set a +1 0 1\r\nx\r\n", "STORED\r\n");
    EXPECT("set a 0 0 01\r\nx\r\n", "STORED\r\n");
    EXPECT("set a 0 -1 1\r\nx\r\nget a\r\n", "STORED\r\nEND\r\n");
    ck_assert_uint_eq(C(cmd_set), 3);
}
END_TEST

START_TEST(key_too_long)
{
    char *k250 = long_key(KEY_MAX_LENGTH), *k251 = long_key(KEY_MAX_LENGTH + 1);
    char in[1024], expect[1024];
    snprintf(in, sizeof(in), "set %s 0 0 1\r\nx\r\n", k250);
    EXPECT(in, "STORED\r\n");
    snprintf(in, sizeof(in), "get %s\r\n", k250);
    snprintf(expect, sizeof(expect), "VALUE %s 0 1\r\nx\r\nEND\r\n", k250);
    EXPECT(in, expect);

    const char *bad = "CLIENT_ERROR bad command line format\r\n";
    /* 1.6.45: the data block of a refused key is swallowed */
    snprintf(in, sizeof(in), "set %s 0 0 1\r\nx\r\n", k251);
    EXPECT(in, "CLIENT_ERROR bad command line format\r\n");
    snprintf(in, sizeof(in), "set %s 0 0 1 noreply\r\nx\r\n", k251);
    EXPECT(in, "");
    /* a long key anywhere in a get drops the values already found */
    snprintf(in, sizeof(in), "get %s %s\r\n", k250, k251);
    EXPECT(in, bad);
    snprintf(in, sizeof(in), "delete %s\r\n", k251);
    EXPECT(in, bad);
    snprintf(in, sizeof(in), "incr %s 1\r\n", k251);
    EXPECT(in, bad);
    snprintf(in, sizeof(in), "touch %s 1\r\n", k251);
    EXPECT(in, bad);
    snprintf(in, sizeof(in), "gat 1 %s\r\n", k251);
    EXPECT(in, bad);
    free(k250);
    free(k251);
}
END_TEST

START_TEST(bad_data_chunk)
{
    EXPECT("set a 0 0 1\r\nq\r\n", "STORED\r\n");
    /* value+2 bytes are read; the two after the value are not "\r\n" */
    const char *in = "set a 0 0 1\r\nxyz\r\nget a\r\n";
    ck_assert_uint_eq(step(in, strlen(in)), 16);  /* the line and 3 bytes */
    ck_assert_str_eq(got, "CLIENT_ERROR bad data chunk\r\n");
    /* the "\r\n" left is an empty line: 1.6.45's format error */
    EXPECT(in, "CLIENT_ERROR bad data chunk\r\nCLIENT_ERROR bad command line format\r\n"
               "VALUE a 0 1\r\nq\r\nEND\r\n");
    EXPECT("set a 0 0 1 noreply\r\nxyz\r\nget a\r\n",
           "CLIENT_ERROR bad command line format\r\nVALUE a 0 1\r\nq\r\nEND\r\n");
    EXPECT("set a 0 0 2\r\nab\n\r\n",
           "CLIENT_ERROR bad data chunk\r\nCLIENT_ERROR bad command line format\r\n");
}
END_TEST

START_TEST(too_large_is_swallowed)
{
    EXPECT("set big 0 0 1\r\nq\r\nadd big2 0 0 1\r\nq\r\n", "STORED\r\nSTORED\r\n");
    enum { VLEN = 2000000, CHUNK = 65536 };
    const char *line = "set big 0 0 2000000\r\n";
    size_t ll = strlen(line);
    static char buf[CHUNK];
    memset(buf, 'z', sizeof(buf));
    memcpy(buf, line, ll);
    ck_assert_uint_eq(step(buf, sizeof(buf)), sizeof(buf));   /* line + what is here */
    ck_assert_str_eq(got, "SERVER_ERROR object too large for cache\r\n");
    ck_assert_uint_eq(pc.swallow, VLEN + 2 - (CHUNK - ll));
    size_t left = (size_t)pc.swallow;
    memset(buf, 'z', sizeof(buf));
    while (left > 0) {
        size_t n = left < CHUNK ? left : CHUNK;
        ck_assert_uint_eq(step(buf, n), n);
        ck_assert_str_eq(got, "");
        left -= n;
    }
    ck_assert_uint_eq(pc.swallow, 0);
    /* set that fails drops the old value; add does not */
    EXPECT("get big\r\n", "END\r\n");
    EXPECT("add big2 0 0 2000000\r\n", "SERVER_ERROR object too large for cache\r\n");
    ck_assert_uint_eq(pc.swallow, VLEN + 2);
    pc.swallow = 0;
    EXPECT("get big2\r\n", "VALUE big2 0 1\r\nq\r\nEND\r\n");
    /* noreply hides it, the data still goes */
    EXPECT("set big 0 0 2000000 noreply\r\n", "");
    ck_assert_uint_eq(pc.swallow, VLEN + 2);
    pc.swallow = 0;
    /* the largest value the store takes is stored; one past -I is refused */
    char hdr[64];
    snprintf(hdr, sizeof(hdr), "set m 0 0 %u\r\n", FX_PAGE_SIZE + 1);
    EXPECT(hdr, "SERVER_ERROR object too large for cache\r\n");
    ck_assert_uint_eq(C(store_too_large), 4);
    ck_assert_uint_eq(C(cmd_set), 2);
}
END_TEST

/*
 * -I is the page size and the largest class is the page, so the store's own
 * limit is the only check: on the fixture's 1 MiB page with CAS, key "m"
 * takes 1048576 - 30 (header) - 8 (CAS) - 4 (flags) - 1 (key) = 1048533
 * value bytes; one more, the page itself and one past the page are refused.
 */
START_TEST(too_large_boundary_is_the_page)
{
    enum { VMAX = 1048533 };
    ck_assert_uint_eq(FX_PAGE_SIZE, 1048576);
    size_t cap = VMAX + 64;
    char *in = malloc(cap);
    int ll = snprintf(in, cap, "set m 1 0 %d\r\n", VMAX);
    memset(in + ll, 'v', VMAX);
    memcpy(in + ll + VMAX, "\r\n", 2);
    ck_assert_uint_eq(step(in, (size_t)ll + VMAX + 2), (size_t)ll + VMAX + 2);
    ck_assert_str_eq(got, "STORED\r\n");
    free(in);
    static const char *const refused[] = {
        "set m 1 0 1048534\r\n", "set m 1 0 1048576\r\n", "set m 1 0 1048577\r\n",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        EXPECT(refused[i], "SERVER_ERROR object too large for cache\r\n");
        pc.swallow = 0;
    }
    ck_assert_uint_eq(C(store_too_large), 3);
}
END_TEST

/* "set <key> <flags> 0 <vlen>\r\n", the value (bytes i % 251) and "\r\n"; *ll: line length. */
static char *big_set(const char *cmd, const char *key, size_t vlen, const char *tail,
                     size_t *ll, size_t *total)
{
    size_t cap = vlen + 128;
    char *in = malloc(cap);
    ck_assert_ptr_nonnull(in);
    *ll = (size_t)snprintf(in, cap, "%s %s 7 0 %zu%s\r\n", cmd, key, vlen, tail);
    for (size_t i = 0; i < vlen; i++)
        in[*ll + i] = (char)(i % 251);
    memcpy(in + *ll + vlen, "\r\n", 2);
    *total = *ll + vlen + 2;
    return in;
}

static uint64_t chunk_bytes_used(void)
{
    struct store_stats ss;
    store_stats(st, &ss);
    return ss.chunk_bytes_used;
}

/* Feeds in[from..total) in pieces of `piece`, each consumed whole. */
static void step_rest(const char *in, size_t from, size_t total, size_t piece)
{
    size_t all = 0;
    static char replies[4096];
    while (from < total) {
        size_t n = total - from < piece ? total - from : piece;
        ck_assert_uint_eq(step(in + from, n), n);
        ck_assert_uint_lt(all + got_len, sizeof(replies));
        memcpy(replies + all, got, got_len);
        all += got_len;
        from += n;
    }
    memcpy(got, replies, all);
    got_len = all;
    got[all] = '\0';
}

START_TEST(big_value_waits_with_need)
{
    /* Up to PROTO_BLOCK_BUFFERED_MAX a block waits whole in the buffer. */
    size_t ll, total;
    char *in = big_set("set", "v", PROTO_BLOCK_BUFFERED_MAX, "", &ll, &total);
    ck_assert_uint_eq(step(in, ll + 100), 0);
    ck_assert_uint_eq(last_need, total);
    ck_assert_uint_eq(chunk_bytes_used(), 0);
    ck_assert_uint_eq(step(in, total), total);
    ck_assert_str_eq(got, "STORED\r\n");
    free(in);
}
END_TEST

START_TEST(big_value_goes_into_its_item)
{
    enum { VLEN = 500000 };
    size_t ll, total;
    char *in = big_set("set", "v", VLEN, "", &ll, &total);
    /* The line and what is in are consumed; the item exists, not yet visible. */
    ck_assert_uint_eq(step(in, ll + 100), ll + 100);
    ck_assert_uint_eq(last_need, 0);
    ck_assert_str_eq(got, "");
    ck_assert_uint_ge(chunk_bytes_used(), VLEN);
    ck_assert_ptr_null(store_get(st, "v", 1, NULL));
    step_rest(in, ll + 100, total, 7001);
    ck_assert_str_eq(got, "STORED\r\n");
    item *it = store_get(st, "v", 1, NULL);
    ck_assert_ptr_nonnull(it);
    ck_assert_uint_eq(item_nvalue(it), VLEN);
    ck_assert_uint_eq(item_flags(it), 7);
    ck_assert_mem_eq(item_value(it), in + ll, VLEN);
    store_release(st, it);
    free(in);
    /* One byte past the threshold already takes this path. */
    in = big_set("set", "w", PROTO_BLOCK_BUFFERED_MAX + 1, "", &ll, &total);
    ck_assert_uint_eq(step(in, ll + 1), ll + 1);
    ck_assert_uint_eq(last_need, 0);
    step_rest(in, ll + 1, total, 1);      /* the terminator a byte at a time */
    ck_assert_str_eq(got, "STORED\r\n");
    ck_assert_uint_eq(ctr->cmd_set, 2);
    free(in);
}
END_TEST

START_TEST(big_value_replies_as_whole)
{
    size_t ll, total;
    char *in = big_set("set", "k", 100000, "", &ll, &total);
    feed(in, total, 4096);
    ck_assert_str_eq(got, "STORED\r\n");
    free(in);
    in = big_set("add", "k", 100000, "", &ll, &total);
    feed(in, total, 4096);
    ck_assert_str_eq(got, "NOT_STORED\r\n");
    free(in);
    in = big_set("cas", "k", 100000, " 999", &ll, &total);
    feed(in, total, 4096);
    ck_assert_str_eq(got, "EXISTS\r\n");
    free(in);
    in = big_set("set", "k", 100000, " noreply", &ll, &total);
    feed(in, total, 4096);
    ck_assert_str_eq(got, "");
    free(in);
    ck_assert_uint_eq(chunk_bytes_used() > 0, 1);
    EXPECT("delete k\r\n", "DELETED\r\n");
    ck_assert_uint_eq(chunk_bytes_used(), 0);
}
END_TEST

START_TEST(big_value_bad_chunk)
{
    size_t ll, total;
    char *in = big_set("set", "b", 100000, "", &ll, &total);
    memcpy(in + total - 2, "xy", 2);
    ck_assert_uint_eq(step(in, ll + 10), ll + 10);
    step_rest(in, ll + 10, total, 30000);
    ck_assert_str_eq(got, "CLIENT_ERROR bad data chunk\r\n");
    ck_assert_uint_eq(chunk_bytes_used(), 0);
    EXPECT("get b\r\n", "END\r\n");
    free(in);
    in = big_set("set", "b", 100000, " noreply", &ll, &total);
    memcpy(in + total - 1, "x", 1);
    ck_assert_uint_eq(step(in, ll + 10), ll + 10);
    step_rest(in, ll + 10, total, 30000);
    ck_assert_str_eq(got, "");
    ck_assert_uint_eq(ctr->cmd_set, 2);
    ck_assert_uint_eq(chunk_bytes_used(), 0);
    free(in);
}
END_TEST

START_TEST(big_value_reset_releases_item)
{
    size_t ll, total;
    char *in = big_set("set", "r", 300000, "", &ll, &total);
    ck_assert_uint_eq(step(in, ll + 5000), ll + 5000);
    ck_assert_uint_ge(chunk_bytes_used(), 300000);
    proto_conn_reset(&pc);               /* the connection closed mid-value */
    ck_assert_uint_eq(chunk_bytes_used(), 0);
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.curr_items, 0);
    EXPECT("get r\r\n", "END\r\n");
    free(in);
}
END_TEST

/* Memory all held by values being read: the next is refused at once, its block swallowed. */
START_TEST(big_value_no_memory_swallowed)
{
    enum { CONNS = 32, VLEN = 900000 };
    static struct proto_conn pcs[CONNS];
    size_t ll, total;
    char *in = big_set("set", "m", VLEN, "", &ll, &total);
    int refused = -1;
    for (int i = 0; i < CONNS && refused < 0; i++) {
        proto_conn_init(&pcs[i], &env, ctr);
        got_len = 0;
        size_t n = proto_process(&pcs[i], in, ll + 1000, out, &last_action, &last_need);
        fx_drain();
        ck_assert_uint_eq(n, ll + 1000);
        if (got_len > 0)
            refused = i;
    }
    ck_assert_int_ge(refused, 1);
    ck_assert_str_eq(got, "SERVER_ERROR out of memory storing object\r\n");
    ck_assert_uint_eq(pcs[refused].swallow, VLEN + 2 - 1000);
    ck_assert_uint_eq(ctr->store_no_memory, 1);
    for (int i = 0; i <= refused; i++)
        proto_conn_reset(&pcs[i]);
    ck_assert_uint_eq(chunk_bytes_used(), 0);
    free(in);
}
END_TEST

START_TEST(long_line_without_newline)
{
    enum { LEN = 3000 };
    static char in[LEN + 1];
    memcpy(in, "set ", 4);
    memset(in + 4, 'x', LEN - 4);
    /* up to PROTO_LINE_MAX: wait for more */
    ck_assert_uint_eq(step(in, PROTO_LINE_MAX), 0);
    ck_assert_int_eq(last_action, PROTO_CONTINUE);
    /* past it, not a get: memcached closes without a word */
    ck_assert_uint_eq(step(in, LEN), LEN);
    ck_assert_int_eq(last_action, PROTO_CLOSE);
    ck_assert_str_eq(got, "");
    /* a long complete line is just a line: a set of one token */
    in[LEN - 2] = '\r';
    in[LEN - 1] = '\n';
    EXPECT(in, "CLIENT_ERROR bad command line format\r\n");
}
END_TEST

START_TEST(long_multiget)
{
    enum { KEYS = 3000 };
    EXPECT("set a 0 0 1\r\nx\r\n", "STORED\r\n");
    size_t len = 4 + KEYS * 2 + 2;
    char *in = malloc(len + 32);
    memcpy(in, "get ", 4);
    for (int i = 0; i < KEYS; i++)
        memcpy(in + 4 + 2 * i, i % 2 ? "b " : "a ", 2);
    memcpy(in + len - 2, "\r\n", 2);
    strcpy(in + len, "get a\r\n");
    size_t full = len + 7;
    enum { VALUE_LEN = 16 };                 /* "VALUE a 0 1\r\nx\r\n" */
    char *expect = malloc((KEYS / 2 + 1) * VALUE_LEN + 16);
    size_t o = 0;
    for (int i = 0; i < KEYS / 2; i++, o += VALUE_LEN)
        memcpy(expect + o, "VALUE a 0 1\r\nx\r\n", VALUE_LEN);
    strcpy(expect + o, "END\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
    /* arriving 1000 bytes at a time: answered in parts, no big buffer */
    feed(in, full, 1000);
    ck_assert_str_eq(got, expect);
    ck_assert_uint_eq(C(cmd_get), KEYS + 1);
    ck_assert_uint_eq(C(get_hits), KEYS / 2 + 1);
    ck_assert_uint_eq(C(get_misses), KEYS / 2);
    /* all at once as one line: the same */
    EXPECT(in, expect);
    free(in);
    free(expect);
}
END_TEST

START_TEST(long_multiget_with_long_key)
{
    static char in[6000];
    size_t o = 0;
    memcpy(in, "gets ", 5);
    o = 5;
    memset(in + o, 'k', 3000);                  /* one 3000-byte key */
    o += 3000;
    memcpy(in + o, " a\r\nversion\r\n", 13);
    o += 13;
    feed(in, o, 1000);
    ck_assert_str_eq(got, "CLIENT_ERROR bad command line format\r\nVERSION " PROTOCOL_VERSION
                          "\r\n");
}
END_TEST

START_TEST(counters_after_a_session)
{
    const char *in =
        "set a 0 0 1\r\n1\r\n"
        "set b 0 0 1\r\n2\r\n"
        "get a b c\r\n"
        "gets a\r\n"
        "incr a 1\r\nincr zz 1\r\ndecr b 1\r\n"
        "delete c\r\ndelete b\r\n"
        "touch a 0\r\ntouch zz 0\r\n"
        "gat 0 a zz\r\n"
        "flush_all\r\n";
    fx_run(in);
    ck_assert_uint_eq(C(cmd_set), 2);
    ck_assert_uint_eq(C(cmd_get), 6);
    ck_assert_uint_eq(C(get_hits), 3);
    ck_assert_uint_eq(C(get_misses), 1);
    ck_assert_uint_eq(C(incr_hits), 1);
    ck_assert_uint_eq(C(incr_misses), 1);
    ck_assert_uint_eq(C(decr_hits), 1);
    ck_assert_uint_eq(C(delete_hits), 1);
    ck_assert_uint_eq(C(delete_misses), 1);
    ck_assert_uint_eq(C(cmd_touch), 4);
    ck_assert_uint_eq(C(touch_hits), 2);
    ck_assert_uint_eq(C(touch_misses), 2);
    ck_assert_uint_eq(C(cmd_flush), 1);
    /* per class: both one-byte items live in the same class */
    item *it = store_get(st, "a", 1, NULL);
    ck_assert_ptr_null(it);                      /* flushed */
    uint64_t cls_sets = 0, cls_hits = 0, cls_touch = 0;
    for (unsigned c = 0; c <= CLASS_MAX; c++) {
        cls_sets += counter_get(&ctr->cls[c].cmd_set);
        cls_hits += counter_get(&ctr->cls[c].get_hits);
        cls_touch += counter_get(&ctr->cls[c].touch_hits);
    }
    ck_assert_uint_eq(cls_sets, 2);
    ck_assert_uint_eq(cls_hits, 3);
    ck_assert_uint_eq(cls_touch, 2);
    /* incr, decr and delete land in class 1 (the one-byte items' class), none in 0 */
    ck_assert_uint_eq(counter_get(&ctr->cls[1].incr_hits), 1);
    ck_assert_uint_eq(counter_get(&ctr->cls[1].decr_hits), 1);
    ck_assert_uint_eq(counter_get(&ctr->cls[1].delete_hits), 1);
    ck_assert_uint_eq(counter_get(&ctr->cls[0].incr_hits) + counter_get(&ctr->cls[0].decr_hits) +
                      counter_get(&ctr->cls[0].delete_hits), 0);
}
END_TEST

START_TEST(noreply_everywhere)
{
    EXPECT("set a 0 0 1 noreply\r\n1\r\n", "");
    EXPECT("add a 0 0 1 noreply\r\n1\r\n", "");
    EXPECT("replace a 0 0 1 noreply\r\n2\r\n", "");
    EXPECT("append a 0 0 1 noreply\r\n3\r\n", "");
    EXPECT("prepend a 0 0 1 noreply\r\n1\r\n", "");
    EXPECT("incr a 1 noreply\r\n", "");
    EXPECT("decr a 1 noreply\r\n", "");
    EXPECT("incr a abc noreply\r\n", "");        /* errors too */
    EXPECT("touch a 0 noreply\r\n", "");
    EXPECT("get a\r\n", "VALUE a 0 3\r\n123\r\nEND\r\n");
    /* noreply only as the last token, and not on get or bad arity */
    EXPECT("get noreply\r\n", "END\r\n");
    EXPECT("foo noreply\r\n", "ERROR\r\n");
}
END_TEST

/* ------------------------------------------------------------ the lexer */

START_TEST(parse_numbers)
{
    struct text_token t;
    uint64_t u;
    int64_t i;
    uint32_t u32;
#define TOK(s) (t.p = (s), t.len = strlen(s), &t)
    ck_assert(text_parse_u64(TOK("18446744073709551615"), &u) && u == UINT64_MAX);
    ck_assert(!text_parse_u64(TOK("18446744073709551616"), &u));
    /* 19 digits take the unchecked loop, 20 or more the checked one */
    ck_assert(text_parse_u64(TOK("9999999999999999999"), &u) && u == 9999999999999999999u);
    ck_assert(text_parse_u64(TOK("00000000000000000000042"), &u) && u == 42);
    ck_assert(!text_parse_u64(TOK("99999999999999999999"), &u));
    ck_assert(!text_parse_u64(TOK(""), &u));
    ck_assert(!text_parse_u64(TOK("+"), &u));
    ck_assert(!text_parse_u64(TOK("-1"), &u));
    ck_assert(!text_parse_u64(TOK("1 "), &u));
    ck_assert(text_parse_u32(TOK("4294967295"), &u32) && u32 == UINT32_MAX);
    ck_assert(!text_parse_u32(TOK("4294967296"), &u32));
    ck_assert(text_parse_i64(TOK("-9223372036854775808"), &i) && i == INT64_MIN);
    ck_assert(text_parse_i64(TOK("9223372036854775807"), &i) && i == INT64_MAX);
    ck_assert(!text_parse_i64(TOK("9223372036854775808"), &i));
    ck_assert(!text_parse_i64(TOK("-9223372036854775809"), &i));
    ck_assert(text_parse_i64(TOK("-0"), &i) && i == 0);
#undef TOK
}
END_TEST

START_TEST(tokenize_and_lines)
{
    struct text_line line;
    const char *in = "  a bb  ccc \r\nrest";
    ck_assert(text_line_find(in, strlen(in), &line));
    ck_assert_uint_eq(line.consumed, 14);
    ck_assert_uint_eq((size_t)(line.end - line.start), 12);
    struct text_token tok[4];
    const char *p = line.start;
    ck_assert_uint_eq(text_tokenize(&p, line.end, tok, 2), 2);
    ck_assert_uint_eq(tok[1].len, 2);
    ck_assert_uint_eq(text_tokenize(&p, line.end, tok, 4), 1);
    ck_assert_uint_eq(tok[0].len, 3);
    ck_assert(text_token_is(&tok[0], "ccc"));
    ck_assert(!text_line_find("abc", 3, &line));
}
END_TEST

/* A digit-at-a-time model of the unsigned parse: '+'? then 1+ digits, no overflow. */
static bool model_parse_u64(const char *p, size_t n, uint64_t *value)
{
    size_t i = n > 0 && p[0] == '+' ? 1 : 0;
    if (i == n)
        return false;
    uint64_t v = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *value = v;
    return true;
}

/* text_parse_u64 and text_parse_u32 agree with the model on buf[0, n),
 * read from an exact-size copy so that no byte past it can be read. */
static void parse_like_model(const char *buf, size_t n)
{
    char *exact = malloc(n > 0 ? n : 1);
    ck_assert_ptr_nonnull(exact);
    memcpy(exact, buf, n);
    struct text_token t = { exact, n };
    uint64_t parsed = 0, want = 0;
    uint32_t parsed32 = 0;
    bool ok = model_parse_u64(exact, n, &want);
    ck_assert_int_eq(text_parse_u64(&t, &parsed), ok);
    if (ok)
        ck_assert_uint_eq(parsed, want);
    ck_assert_int_eq(text_parse_u32(&t, &parsed32), ok && want <= UINT32_MAX);
    if (ok && want <= UINT32_MAX)
        ck_assert_uint_eq(parsed32, want);
    free(exact);
}

/* Longest runs tried: past TEXT_DIGITS_SAFE (19) into the checked loop. */
#define DIGITS_TRY_MAX 22

START_TEST(parse_numbers_by_word)
{
    static const char digits[] = "9876543210123456789012";
    /* around '0'..'9': the bytes next to them, with the high bit, with a
     * low nibble of a digit, and those that carry when 6 is added */
    static const char bad[] = { '/', ':', '?', '@', ' ', '\0', '\t', '-', '+',
                                (char)0xb5, (char)0x15, (char)0x35 ^ 0x40, (char)0xfa,
                                (char)0xff, (char)0x80 };
    char buf[DIGITS_TRY_MAX + 1];
    for (size_t n = 0; n <= DIGITS_TRY_MAX; n++) {
        memcpy(buf, digits, n);
        parse_like_model(buf, n);
        memset(buf, '9', n);               /* overflow from 20 nines on */
        parse_like_model(buf, n);
        memset(buf, '0', n);
        parse_like_model(buf, n);
        for (size_t at = 0; at < n; at++)
            for (size_t b = 0; b < sizeof(bad); b++) {
                memcpy(buf, digits, n);
                buf[at] = bad[b];
                parse_like_model(buf, n);
            }
        /* a '+' before n digits */
        buf[0] = '+';
        memcpy(buf + 1, digits, n);
        parse_like_model(buf, n + 1);
    }
    struct text_token t;
    uint64_t u;
    int64_t i;
#define TOK(s) (t.p = (s), t.len = strlen(s), &t)
    /* 8, 4 and 1 at a time, each place of the value */
    ck_assert(text_parse_u64(TOK("12345678"), &u) && u == 12345678u);
    ck_assert(text_parse_u64(TOK("1234567890123"), &u) && u == 1234567890123u);
    ck_assert(text_parse_u64(TOK("0000000100000001"), &u) && u == 100000001u);
    ck_assert(text_parse_u64(TOK("65535"), &u) && u == 65535);
    ck_assert(!text_parse_u64(TOK("1234567:"), &u));
    ck_assert(!text_parse_u64(TOK("123/"), &u));
    ck_assert(text_parse_i64(TOK("-12345678"), &i) && i == -12345678);
    ck_assert(text_parse_i64(TOK("+1234"), &i) && i == 1234);
    ck_assert(!text_parse_i64(TOK("-12 4"), &i));
#undef TOK
}
END_TEST

/* A byte-at-a-time state machine, the model text_tokenize must match: a
 * token opens at a byte that is not a space and closes at the next space or
 * the end; a full budget stops right where its last token closes. */
static size_t model_tokenize(const char **pos, const char *end, struct text_token *tok,
                             size_t max)
{
    if (max == 0)
        return 0;
    size_t n = 0;
    const char *open = NULL;
    for (const char *p = *pos;; p++) {
        bool space = p == end || *p == ' ';
        if (open != NULL && space) {
            tok[n].p = open;
            tok[n].len = (size_t)(p - open);
            open = NULL;
            if (++n == max) {
                *pos = p;
                return n;
            }
        } else if (open == NULL && !space) {
            open = p;
        }
        if (p == end)
            break;
    }
    *pos = end;
    return n;
}

/* text_tokenize of buf[from, len) with budget max agrees with the model:
 * count, every token's bounds, and where it stops. */
static void tokenize_like_model(const char *buf, size_t from, size_t len, size_t max)
{
    struct text_token have[TEXT_TOKENS_MAX], want[TEXT_TOKENS_MAX];
    const char *gp = buf + from, *wp = buf + from;
    size_t n = text_tokenize(&gp, buf + len, have, max);
    ck_assert_uint_eq(n, model_tokenize(&wp, buf + len, want, max));
    ck_assert_ptr_eq(gp, wp);
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_eq(have[i].p, want[i].p);
        ck_assert_uint_eq(have[i].len, want[i].len);
    }
}

static const size_t tokenize_budgets[] = { 0, 1, 2, 3, TEXT_TOKENS_MAX };
#define NBUDGETS (sizeof(tokenize_budgets) / sizeof(tokenize_budgets[0]))
/* Every string of spaces and one other byte up to this long (2^n of each). */
#define TOKENIZE_EXHAUSTIVE_LEN 13

START_TEST(tokenize_words_exhaustive)
{
    /* '!' is ' ' ^ 1 and 0xa0 is ' ' | 0x80: bytes a sloppy word-wise
     * space test takes for spaces */
    static const char others[] = { 'a', '!', (char)0xa0, '\t', '\0' };
    char buf[TOKENIZE_EXHAUSTIVE_LEN];
    for (size_t o = 0; o < sizeof(others); o++)
        for (size_t len = 0; len <= TOKENIZE_EXHAUSTIVE_LEN; len++)
            for (unsigned bits = 0; bits < (1u << len); bits++) {
                for (size_t i = 0; i < len; i++)
                    buf[i] = (bits >> i) & 1 ? others[o] : ' ';
                for (size_t b = 0; b < NBUDGETS; b++) {
                    tokenize_like_model(buf, 0, len, tokenize_budgets[b]);
                    /* from inside the range: the tail word may reach back */
                    if (len > 3)
                        tokenize_like_model(buf, 3, len, tokenize_budgets[b]);
                }
            }
}
END_TEST

START_TEST(tokenize_words_long)
{
    /* tokens across word ends, of 7, 8, 9 and 17 bytes, a run of spaces
     * longer than a word, a token ending the range exactly at a word end */
    static const char *lines[] = {
        "set key:0000000123 65535 0 100",
        "abcdefg abcdefgh abcdefghi abcdefghijklmnopq",
        "a                  b",
        "12345678",
        "1234567 ",
        "        12345678",
        " x y z w v u t s r q",
    };
    for (size_t l = 0; l < sizeof(lines) / sizeof(lines[0]); l++) {
        size_t len = strlen(lines[l]);
        char *exact = malloc(len + 1);    /* no byte past the range to read */
        ck_assert_ptr_nonnull(exact);
        memcpy(exact, lines[l], len);
        for (size_t from = 0; from <= len; from++)
            for (size_t b = 0; b < NBUDGETS; b++)
                tokenize_like_model(exact, from, len, tokenize_budgets[b]);
        free(exact);
    }
    /* a full budget stops right after its last token */
    const char *in = "set k 1 2 3 noreply extra more";
    const char *p = in;
    struct text_token tok[TEXT_TOKENS_MAX];
    ck_assert_uint_eq(text_tokenize(&p, in + strlen(in), tok, 6), 6);
    ck_assert(text_token_is(&tok[5], "noreply"));
    ck_assert_ptr_eq(p, in + strlen("set k 1 2 3 noreply"));
}
END_TEST

static Suite *proto_text_suite(void)
{
    Suite *s = suite_create("proto_text");
    TCase *tc = tcase_create("commands");
    tcase_add_checked_fixture(tc, setup, fx_proto_teardown);
    tcase_add_test(tc, set_get);
    tcase_add_test(tc, lines_end_with_lf_alone);
    tcase_add_test(tc, multi_get_and_gets);
    tcase_add_test(tc, add_replace_append_prepend);
    tcase_add_test(tc, cas_command);
    tcase_add_test(tc, incr_decr);
    tcase_add_test(tc, delete_forms);
    tcase_add_test(tc, touch_gat_gats);
    tcase_add_test(tc, expiry_counts);
    tcase_add_test(tc, flush_all_forms);
    tcase_add_test(tc, version_verbosity_quit);
    tcase_add_test(tc, shutdown_command);
    tcase_add_test(tc, cache_memlimit);
    tcase_add_test(tc, slabs_commands);
    tcase_add_test(tc, stats_commands);
    tcase_add_test(tc, noreply_everywhere);
    tcase_add_test(tc, counters_after_a_session);
    suite_add_tcase(s, tc);

    tc = tcase_create("framing");
    tcase_add_checked_fixture(tc, setup, fx_proto_teardown);
    tcase_add_test(tc, pipelined_in_one_buffer);
    tcase_add_test(tc, split_at_every_byte);
    tcase_add_test(tc, unknown_empty_and_arity);
    tcase_add_test(tc, http_lines_close);
    tcase_add_test(tc, ascii_auth_login);
    tcase_add_test(tc, ascii_auth_hangs_up);
    tcase_add_test(tc, bad_numbers);
    tcase_add_test(tc, key_too_long);
    tcase_add_test(tc, bad_data_chunk);
    tcase_add_test(tc, too_large_is_swallowed);
    tcase_add_test(tc, too_large_boundary_is_the_page);
    tcase_add_test(tc, big_value_waits_with_need);
    tcase_add_test(tc, big_value_goes_into_its_item);
    tcase_add_test(tc, big_value_replies_as_whole);
    tcase_add_test(tc, big_value_bad_chunk);
    tcase_add_test(tc, big_value_reset_releases_item);
    tcase_add_test(tc, big_value_no_memory_swallowed);
    tcase_add_test(tc, long_line_without_newline);
    tcase_add_test(tc, long_multiget);
    tcase_add_test(tc, long_multiget_with_long_key);
    suite_add_tcase(s, tc);

    tc = tcase_create("lexer");
    tcase_add_test(tc, parse_numbers);
    tcase_add_test(tc, parse_numbers_by_word);
    tcase_add_test(tc, tokenize_and_lines);
    tcase_add_test(tc, tokenize_words_exhaustive);
    tcase_add_test(tc, tokenize_words_long);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(proto_text_suite());
}
