/*
 * test_meta_flags: every flag of every meta command (mg ms md ma mn me) in
 * memcached 1.6.45's doc/protocol.txt, and the meta error lines, as a table
 * both servers must pass (a DROPIN_TESTS suite).
 *
 * A case is a list of rows run in order on one connection to a fresh
 * server: the request bytes and the reply expected, as a pattern where
 * "%d" stands for a number each server computes its own way (a TTL the
 * clock may tick through, an access age, me's sizes); every other byte is
 * exact. CAS values are made exact with the E flag, which sets them. A row
 * marked ours is checked against slabcache only: where we differ from
 * memcached on purpose (the man page lists why).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define MF_TIMEOUT_S 20

struct mf_row {
    const char *req;
    const char *exp;
    bool ours;               /* slabcache only */
};

struct mf_case {
    const char *name;
    const struct mf_row *rows;
};

#define MF_END { NULL, NULL, false }

struct h_server hc_srv;

/* ---------------------------------------------------------------- mg */

static const struct mf_row mg_rows[] = {
    { "ms a 2 T0 F7 E10\r\nhi\r\n", "HD\r\n", false },
    /* v s f c t k O, echoed in the order asked */
    { "mg a v s f c t k O123\r\n", "VA 2 s2 f7 c10 t-1 ka O123\r\nhi\r\n", false },
    { "mg a O9 k c\r\n", "HD O9 ka c10\r\n", false },
    /* an empty opaque, and the 32-character limit */
    { "mg a O k\r\n", "HD O ka\r\n", false },
    { "mg a Oabcdefghijabcdefghijabcdefghij\r\n", "HD Oabcdefghijabcdefghijabcdefghij\r\n", false },
    { "mg a Oabcdefghijabcdefghijabcdefghijab\r\n",
      "CLIENT_ERROR opaque token too long\r\n", false },
    /* C: the value is not sent when the client has it already */
    { "mg a v C10 c\r\n", "HD c10\r\n", false },
    { "mg a v C11 c\r\n", "VA 2 c10\r\nhi\r\n", false },
    /* h: hit before; l: seconds since the last access; u: no bump */
    { "ms h 1\r\nx\r\n", "HD\r\n", false },
    { "mg h h l\r\n", "HD h0 l%d\r\n", false },
    { "mg h h u\r\n", "HD h1\r\n", false },
    /* T: new TTL (a t before it shows the TTL from before) */
    { "mg a t T100\r\n", "HD t-1\r\n", false },
    { "mg a t\r\n", "HD t%d\r\n", false },
    { "mg a T0 t\r\n", "HD t-1\r\n", false },
    /* q: a miss says nothing, a hit does */
    { "mg none q v\r\n", "", false },
    { "mg none k O1\r\n", "EN knone O1\r\n", false },
    { "mg a q k\r\n", "HD ka\r\n", false },
    /* M and F are read by every meta command (and ignored by mg) */
    { "mg a Mx F5 s\r\n", "HD s2\r\n", false },
    { "mn\r\n", "MN\r\n", false },
    MF_END
};

/* N (vivify), R (recache), E (the vivified item's CAS); W X Z come back. */
static const struct mf_row mg_tokens_rows[] = {
    { "mg v N30 E20 c t s v\r\n", "VA 0 c20 t%d s0 W\r\n\r\n", false },
    { "mg v N30 c v\r\n", "VA 0 c20 Z\r\n\r\n", false },
    { "ms v 3 E21\r\nnew\r\n", "HD\r\n", false },
    { "mg v c v\r\n", "VA 3 c21\r\nnew\r\n", false },
    /* R: a TTL under the token wins once */
    { "ms r 1 T10 E30\r\nr\r\n", "HD\r\n", false },
    { "mg r R30 c\r\n", "HD c30 W\r\n", false },
    { "mg r R30 c\r\n", "HD c30 Z\r\n", false },
    { "mg r R5 c\r\n", "HD c30 Z\r\n", false },
    /* E on a hit changes nothing */
    { "mg r E99 c\r\n", "HD c30 Z\r\n", false },
    MF_END
};

/* b: base64 keys, echoed in base64 with " b" after them. */
static const struct mf_row mg_base64_rows[] = {
    { "ms Zm9vYmFy 2 b k O1 E40 c\r\nhi\r\n", "HD kZm9vYmFy b O1 c40\r\n", false },
    { "mg Zm9vYmFy b k v\r\n", "VA 2 kZm9vYmFy b\r\nhi\r\n", false },
    { "mg foobar k v\r\n", "VA 2 kZm9vYmFy b\r\nhi\r\n", false },
    { "mg bm9uZQ== b k O2\r\n", "EN kbm9uZQ== b O2\r\n", false },
    { "mg YQ b v\r\n", "CLIENT_ERROR error decoding key\r\n", false },
    { "mg YQ= b\r\n", "CLIENT_ERROR error decoding key\r\n", false },
    { "mg ==== b\r\n", "CLIENT_ERROR error decoding key\r\n", false },
    /*
     * The framing bug: a vivified binary key ("a\nb") echoed by k. memcached
     * 1.6.45 writes the decoded bytes raw, newline included; we keep base64.
     */
    { "mg YQpi b N30 k v\r\n", "VA 0 kYQpi b W\r\n\r\n", true },
    { "mg YQpi b k s\r\n", "HD kYQpi b s0 Z\r\n", true },
    /* memcached's md x drops the binary mark the same way */
    { "ms YQpj 1 b\r\nx\r\n", "HD\r\n", false },
    { "md YQpj b x\r\n", "HD\r\n", false },
    { "mg YQpj b k v\r\n", "VA 0 kYQpj b\r\n\r\n", true },
    MF_END
};

/* ---------------------------------------------------------------- ms */

static const struct mf_row ms_rows[] = {
    /* c k O s, on success and failure; q drops only HD */
    { "ms a 2 c k O1 s E50\r\nhi\r\n", "HD c50 ka O1 s2\r\n", false },
    { "ms a 2 q O2\r\nhi\r\n", "", false },
    { "ms a 3 ME c s O3 q\r\nhey\r\n", "NS c0 s3 O3\r\n", false },
    /* F T I C E */
    { "ms a 2 F9 T100 E51\r\nho\r\n", "HD\r\n", false },
    { "mg a f t c v\r\n", "VA 2 f9 t%d c51\r\nho\r\n", false },
    { "ms a 2 C50 c\r\nxx\r\n", "EX c0\r\n", false },
    { "ms a 2 C51 E52 c\r\nxx\r\n", "HD c52\r\n", false },
    { "ms none 2 C1 c\r\nxx\r\n", "NF c0\r\n", false },
    /* I: an older CAS still stores, as a stale value */
    { "ms a 3 I C1 E53 c\r\nold\r\n", "HD c53\r\n", false },
    { "mg a c v\r\n", "VA 3 c53 X W\r\nold\r\n", false },
    { "mg a c\r\n", "HD c53 Z X\r\n", false },
    /* F is a 32-bit number */
    { "ms f 1 F4294967295\r\nf\r\n", "HD\r\n", false },
    { "mg f f\r\n", "HD f4294967295\r\n", false },
    { "mn\r\n", "MN\r\n", false },
    MF_END
};

/* M: set, add (E), replace (R), append (A), prepend (P); N autovivifies A and P. */
static const struct mf_row ms_mode_rows[] = {
    { "ms m 1 MA\r\nx\r\n", "NS\r\n", false },
    { "ms m 1 MP\r\nx\r\n", "NS\r\n", false },
    { "ms m 1 MR\r\nx\r\n", "NS\r\n", false },
    { "ms m 1 ME\r\nb\r\n", "HD\r\n", false },
    { "ms m 1 ME\r\ny\r\n", "NS\r\n", false },
    { "ms m 1 MA s\r\nc\r\n", "HD s2\r\n", false },
    { "ms m 1 MP s\r\na\r\n", "HD s3\r\n", false },
    { "mg m v\r\n", "VA 3\r\nabc\r\n", false },
    { "ms m 1 MR\r\nz\r\n", "HD\r\n", false },
    { "ms m 2 MS\r\nzz\r\n", "HD\r\n", false },
    /* only the byte after M counts */
    { "ms m 2 MSxx\r\nyy\r\n", "HD\r\n", false },
    { "mg m v\r\n", "VA 2\r\nyy\r\n", false },
    { "ms m 1 Ms\r\nx\r\n", "CLIENT_ERROR invalid mode for ms M token\r\n", false },
    { "ms m 1 M\r\nx\r\n", "CLIENT_ERROR invalid mode for ms M token\r\n", false },
    /* append with N on a miss stores the value with N's TTL */
    { "ms v 2 MA N0 s\r\nhi\r\n", "HD s2\r\n", false },
    { "ms v 2 MA N30\r\nyo\r\n", "HD\r\n", false },
    { "mg v v t\r\n", "VA 4 t-1\r\nhiyo\r\n", false },
    { "ms p 2 MP N30 E60 c s\r\nhi\r\n", "HD c60 s2\r\n", false },
    { "ms p 2 MP N30 E61 c s\r\nzz\r\n", "HD c61 s4\r\n", false },
    { "mg p v t\r\n", "VA 4 t%d\r\nzzhi\r\n", false },
    { "ms q 2 MR N30\r\nhi\r\n", "NS\r\n", false },
    MF_END
};

/* ---------------------------------------------------------------- md */

static const struct mf_row md_rows[] = {
    { "ms a 2 E70\r\nhi\r\n", "HD\r\n", false },
    { "md a C1 k O1\r\n", "EX ka O1\r\n", false },
    { "md a C70 q O2\r\n", "", false },
    { "md a q O3 k\r\n", "NF O3 ka\r\n", false },
    { "mg a v\r\n", "EN\r\n", false },
    /* I: stale with a new CAS (E), T only with I */
    { "ms a 2 E71 T0\r\nhi\r\n", "HD\r\n", false },
    { "md a I T30 E72 k\r\n", "HD ka\r\n", false },
    { "mg a v c t\r\n", "VA 2 c72 t%d X W\r\nhi\r\n", false },
    /* x: the value goes, the item stays (F's flags, T's TTL, its CAS or E's) */
    { "ms x 3 F7 T100 E73\r\nabc\r\n", "HD\r\n", false },
    { "md x x F9\r\n", "HD\r\n", false },
    { "mg x v c t f s\r\n", "VA 0 c73 t-1 f9 s0\r\n\r\n", false },
    { "md x x I E74 T40 q\r\n", "", false },
    { "mg x v c t f s\r\n", "VA 0 c74 t%d f0 s0 X W\r\n\r\n", false },
    { "md none x\r\n", "NF\r\n", false },
    { "md none x q\r\n", "NF\r\n", false },
    { "md bm9uZQ== b k\r\n", "NF kbm9uZQ== b\r\n", false },
    { "mn\r\n", "MN\r\n", false },
    MF_END
};

/* ---------------------------------------------------------------- ma */

static const struct mf_row ma_rows[] = {
    { "ma n\r\n", "NF\r\n", false },
    { "ma n q O1 k\r\n", "NF O1 kn\r\n", false },
    /* N J: created holding J; E: its CAS; then D and the modes */
    { "ma n N0 J5 E80 c v t\r\n", "VA 1 c80 t-1\r\n5\r\n", false },
    { "ma n E81 c v\r\n", "VA 1 c81\r\n6\r\n", false },
    { "ma n D10 v\r\n", "VA 2\r\n16\r\n", false },
    { "ma n MD D20 v\r\n", "VA 1\r\n0\r\n", false },
    { "ma n M+ v\r\n", "VA 1\r\n1\r\n", false },
    { "ma n MI v\r\n", "VA 1\r\n2\r\n", false },
    { "ma n M- v\r\n", "VA 1\r\n1\r\n", false },
    { "ma n M v\r\n", "CLIENT_ERROR invalid mode for ma M token\r\n", false },
    { "ma n Mx v\r\n", "CLIENT_ERROR invalid mode for ma M token\r\n", false },
    /* C: only when the CAS matches */
    { "ms c 1 E82\r\n7\r\n", "HD\r\n", false },
    { "ma c C1 v\r\n", "EX\r\n", false },
    { "ma c C82 E83 v c\r\n", "VA 1 c83\r\n8\r\n", false },
    /* T sets the TTL, t shows it; q silences every success */
    { "ma c T99 t v\r\n", "VA 1 t%d\r\n9\r\n", false },
    { "ma c q v\r\n", "", false },
    { "ma new q N0 J3\r\n", "", false },
    { "mg new v\r\n", "VA 1\r\n3\r\n", false },
    { "ma Zm9v b N0 J1 k v\r\n", "VA 1 kZm9v b\r\n1\r\n", false },
    { "ms s 1\r\nx\r\n", "HD\r\n", false },
    { "ma s\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n", false },
    { "mn\r\n", "MN\r\n", false },
    MF_END
};

/* ---------------------------------------------------------------- mn, me */

static const struct mf_row mn_me_rows[] = {
    { "mn\r\n", "MN\r\n", false },
    { "mn extra words\r\n", "MN\r\n", false },
    { "me none\r\n", "EN\r\n", false },
    { "ms a 2 E90\r\nhi\r\n", "HD\r\n", false },
    { "me a\r\n", "ME a exp=-1 la=%d cas=90 fetch=no cls=%d size=%d\r\n", false },
    { "ms t 2 T100 E91\r\nhi\r\n", "HD\r\n", false },
    { "me t\r\n", "ME t exp=%d la=%d cas=91 fetch=no cls=%d size=%d\r\n", false },
    { "me YQ== b x\r\n", "ME a exp=-1 la=%d cas=90 fetch=no cls=%d size=%d\r\n", false },
    { "me\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "me YQ b x\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "me a !\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    /* memcached honours b only when a word follows it */
    { "me YQ== b\r\n", "ME a exp=-1 la=%d cas=90 fetch=no cls=%d size=%d\r\n", true },
    MF_END
};

/* ---------------------------------------------------------------- errors */

static const struct mf_row error_rows[] = {
    /* no key */
    { "mg\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "ms\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "md\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "ma\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "mz a\r\n", "ERROR\r\n", false },
    /* a flag must start with a letter or a digit */
    { "mg a !\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "mg a {\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "md a ~\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "ma a !\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "mg a 1\r\n", "CLIENT_ERROR invalid flag\r\n", false },
    { "mg a _\r\n", "CLIENT_ERROR invalid flag\r\n", false },
    { "md a 9\r\n", "CLIENT_ERROR invalid flag\r\n", false },
    { "ma a _\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n", false },
    /* duplicates */
    { "mg a v v\r\n", "CLIENT_ERROR duplicate flag\r\n", false },
    { "md a q q\r\n", "CLIENT_ERROR duplicate flag\r\n", false },
    { "ma a v v\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n", false },
    /* bad values */
    { "mg a T+5\r\n", "CLIENT_ERROR bad token in command line format\r\n", false },
    { "mg a T\r\n", "CLIENT_ERROR bad token in command line format\r\n", false },
    { "mg a T2147483648\r\n", "CLIENT_ERROR bad token in command line format\r\n", false },
    { "mg a Nx\r\n", "CLIENT_ERROR bad token in command line format\r\n", false },
    { "mg a R\r\n", "CLIENT_ERROR bad token in command line format\r\n", false },
    { "mg a Ex\r\n", "CLIENT_ERROR bad token in command line format\r\n", false },
    { "mg a Fx\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "md a Cx\r\n", "CLIENT_ERROR bad token in command line format\r\n", false },
    { "md a E\r\n", "CLIENT_ERROR bad token in command line format\r\n", false },
    { "ma a Cx\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n", false },
    { "ma a J+1\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n", false },
    { "ma a D-1\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n", false },
    /* a bad F keeps an earlier message; the last other one wins */
    { "mg a Cx Fx\r\n", "CLIENT_ERROR bad token in command line format\r\n", false },
    { "mg YQ b Cx\r\n", "CLIENT_ERROR bad token in command line format\r\n", false },
    { "mg a Cx ! \r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "mg a Cx z\r\n", "CLIENT_ERROR invalid flag\r\n", false },
    /* ms: before the length nothing is swallowed, after it the block is */
    { "ms a abc\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "ms a +2\r\nhi\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n", false },
    { "ms a 2 !\r\nhi\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n", false },
    { "ms a 2 Tx\r\nhi\r\n", "CLIENT_ERROR bad token in command line format\r\n", false },
    { "ms a 2 T1 ZZ\r\nhi\r\n", "CLIENT_ERROR invalid flag\r\n", false },
    { "ms a 2 T1 T2\r\nhi\r\n", "CLIENT_ERROR duplicate flag\r\n", false },
    { "ms a 2 MZ\r\nhi\r\n", "CLIENT_ERROR invalid mode for ms M token\r\n", false },
    { "ms a 2 F-1\r\nhi\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "ms a 2 F4294967296\r\nhi\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "ms a 2 E+1\r\nhi\r\n", "CLIENT_ERROR bad token in command line format\r\n", false },
    { "ms a 2 E00000000000000000000001\r\nhi\r\n",
      "CLIENT_ERROR bad token in command line format\r\n", false },
    { "ms a 2 MZ Oabcdefghijabcdefghijabcdefghijab\r\nhi\r\n",
      "CLIENT_ERROR invalid mode for ms M token\r\n", false },
    { "ms a 2 Oabcdefghijabcdefghijabcdefghijab\r\nhi\r\n",
      "CLIENT_ERROR opaque token too long\r\n", false },
    /* 20 words pass, 21 are too many */
    { "mg a s a b c d e f g h i j k l m n o p q\r\n", "CLIENT_ERROR invalid flag\r\n", false },
    { "mg a v a b c d e f g h i j k l m n o p q r\r\n",
      "CLIENT_ERROR options flags are too long\r\n", false },
    { "md a v a b c d e f g h i j k l m n o p q r\r\n",
      "CLIENT_ERROR options flags are too long\r\n", false },
    { "ma a v a b c d e f g h i j k l m n o p q r\r\n",
      "CLIENT_ERROR invalid or duplicate flag\r\n", false },
    { "ms a 2 v a b c d e f g h i j k l m n o p q\r\nhi\r\n",
      "CLIENT_ERROR options flags are too long\r\n", false },
    { "mn\r\n", "MN\r\n", false },
    MF_END
};

/* Keys over 250 bytes: ms swallows its block, ma says its own words. */
static const struct mf_row long_key_rows[] = {
#define MF_K50 "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
#define MF_K251 MF_K50 MF_K50 MF_K50 MF_K50 MF_K50 "k"
    { "mg " MF_K251 " v\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "md " MF_K251 "\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "ma " MF_K251 "\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n", false },
    { "me " MF_K251 "\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "ms " MF_K251 " 2\r\nhi\r\n", "CLIENT_ERROR bad command line format\r\n", false },
    { "mn\r\n", "MN\r\n", false },
    MF_END
};

static const struct mf_case mf_cases[] = {
    { "mg", mg_rows },
    { "mg tokens", mg_tokens_rows },
    { "mg base64", mg_base64_rows },
    { "ms", ms_rows },
    { "ms modes", ms_mode_rows },
    { "md", md_rows },
    { "ma", ma_rows },
    { "mn me", mn_me_rows },
    { "errors", error_rows },
    { "long keys", long_key_rows },
};

#define MF_CASES (sizeof(mf_cases) / sizeof(mf_cases[0]))

static void mf_setup(void)
{
    HC_START(NULL);
}

static void mf_teardown(void)
{
    h_server_stop(&hc_srv);
}

START_TEST(meta_flags)
{
    const struct mf_case *c = &mf_cases[_i];
    int fd = hc_conn();
    for (const struct mf_row *r = c->rows; r->req != NULL; r++) {
        if (r->ours && !h_is_slabcache())
            continue;
        int count = 0;
        long long nums[HC_NUMS_MAX];
        char *m = hc_diff_pat(fd, r->req, strlen(r->req), r->exp, nums, &count);
        ck_assert_msg(m == NULL, "case %s: %s", c->name, m);
    }
    HC_USABLE(fd);
    close(fd);
}
END_TEST

static Suite *mf_suite(void)
{
    Suite *s = suite_create("meta_flags");
    TCase *tc = tcase_create("flags");
    tcase_add_checked_fixture(tc, mf_setup, mf_teardown);
    tcase_set_timeout(tc, MF_TIMEOUT_S);
    tcase_add_loop_test(tc, meta_flags, 0, (int)MF_CASES);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return hc_run_suite(mf_suite());
}
