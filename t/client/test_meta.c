/*
 * test_meta: the meta commands (mn, ms, mg, md, ma) over raw sockets,
 * byte for byte.
 *
 * The expected bytes are those of memcached 1.6.18, found by running each
 * exchange against it first. Two kinds of value legitimately differ between
 * servers: CAS numbers (each server counts its own) and remaining TTLs (the
 * clock may tick between set and read). Those are matched by shape with a
 * small pattern language: in an expected reply "%d" stands for one or more
 * digits (with an optional leading '-'), and the numbers it matched are
 * handed back for range checks. Every other byte is compared exactly.
 *
 * Each test gets a fresh server (checked fixture) so CAS and counters start
 * from a known state and keys never collide.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define MT_TIMEOUT_S 20
#define MT_NUMS_MAX 8
#define MT_PIPELINE_N 100
#define MT_TTL 100
#define MT_TTL_SLACK 2            /* seconds the clock may tick meanwhile */
#define MT_KEY_MAX 250

struct h_server hc_srv;

static void mt_setup(void)
{
    HC_START(NULL);
}

static void mt_teardown(void)
{
    h_server_stop(&hc_srv);
}

/* ------------------------------------------------------ pattern match */

enum mt_match { MT_FAIL, MT_PREFIX, MT_FULL };

/*
 * Matches got (n bytes) against pat. MT_PREFIX: got could still grow into
 * a match. Numbers matched by "%d" go to nums (up to *count).
 */
static enum mt_match mt_match(const char *pat, const char *got, size_t n, long long *nums,
                              int *count)
{
    size_t i = 0;
    int c = 0;
    while (*pat) {
        if (pat[0] == '%' && pat[1] == 'd') {
            size_t start = i;
            if (i < n && got[i] == '-')
                i++;
            size_t digits = i;
            while (i < n && got[i] >= '0' && got[i] <= '9')
                i++;
            if (i == n)
                return MT_PREFIX;   /* more digits may come */
            if (i == digits)
                return MT_FAIL;
            if (c < MT_NUMS_MAX)
                nums[c++] = strtoll(got + start, NULL, 10);
            pat += 2;
            continue;
        }
        if (i == n)
            return MT_PREFIX;
        if (got[i] != *pat)
            return MT_FAIL;
        i++;
        pat++;
    }
    *count = c;
    return i == n ? MT_FULL : MT_FAIL;
}

static long long mt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Sends req and reads until the reply matches pat in full, can no longer
 * match, or the I/O bound passes; a byte that follows a full match within
 * H_EXTRA_WAIT_MS fails too. Returns how many numbers "%d" matched.
 */
static int mt_expect_pat(int fd, const char *req, const char *pat, long long *nums)
{
    static char got[HC_REPLY_MAX];
    size_t n = 0;
    int count = 0;
    long long nums_local[MT_NUMS_MAX];
    if (nums == NULL)
        nums = nums_local;
    ck_assert(h_send_str(fd, req));
    long long deadline = mt_now_ms() + H_IO_TIMEOUT_MS;
    enum mt_match m = mt_match(pat, got, 0, nums, &count);
    while (m == MT_PREFIX && n < sizeof(got) - 1) {
        long long left = deadline - mt_now_ms();
        struct pollfd pf = { fd, POLLIN, 0 };
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            break;
        ssize_t r = recv(fd, got + n, sizeof(got) - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        m = mt_match(pat, got, n, nums, &count);
    }
    size_t full = n;
    if (m == MT_FULL)   /* nothing may follow the matched reply */
        n += h_read_extra(fd, got + n, sizeof(got) - 1 - n, H_EXTRA_WAIT_MS);
    if (m != MT_FULL || n != full) {
        char sreq[512], spat[1024];
        snprintf(sreq, sizeof(sreq), "%s", h_escape(req, strlen(req)));
        snprintf(spat, sizeof(spat), "%s", h_escape(pat, strlen(pat)));
        ck_abort_msg("sent \"%s\": expected \"%s\", got \"%s\"", sreq, spat, h_escape(got, n));
    }
    return count;
}

/* One CAS number out of a reply with exactly one "%d". */
static long long mt_expect_cas(int fd, const char *req, const char *pat)
{
    long long nums[MT_NUMS_MAX];
    ck_assert_int_eq(mt_expect_pat(fd, req, pat, nums), 1);
    ck_assert_msg(nums[0] > 0, "CAS %lld", nums[0]);
    return nums[0];
}

static void mt_expect_ttl(int fd, const char *req, const char *pat, long long ttl)
{
    long long nums[MT_NUMS_MAX];
    ck_assert_int_eq(mt_expect_pat(fd, req, pat, nums), 1);
    ck_assert_msg(nums[0] <= ttl && nums[0] >= ttl - MT_TTL_SLACK,
                  "TTL %lld for %lld", nums[0], ttl);
}

/* ------------------------------------------------------------- tests */

START_TEST(mn_noop)
{
    int fd = hc_conn();
    HC_EXPECT(fd, "mn\r\n", "MN\r\n");
    HC_EXPECT(fd, "mn\r\nmn\r\n", "MN\r\nMN\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

START_TEST(ms_modes)
{
    int fd = hc_conn();
    /* append, prepend, replace need the item; add and set do not */
    HC_EXPECT(fd, "ms m 1 MA\r\nx\r\n", "NS\r\n");
    HC_EXPECT(fd, "ms m 1 MP\r\nx\r\n", "NS\r\n");
    HC_EXPECT(fd, "ms m 1 MR\r\nx\r\n", "NS\r\n");
    HC_EXPECT(fd, "ms m 1 ME\r\nx\r\n", "HD\r\n");
    HC_EXPECT(fd, "ms m 1 ME\r\ny\r\n", "NS\r\n");
    HC_EXPECT(fd, "ms m 1 MA\r\nb\r\n", "HD\r\n");
    HC_EXPECT(fd, "ms m 1 MP\r\na\r\n", "HD\r\n");
    HC_EXPECT(fd, "mg m v\r\n", "VA 3\r\naxb\r\n");
    HC_EXPECT(fd, "ms m 1 MR\r\nz\r\n", "HD\r\n");
    HC_EXPECT(fd, "mg m v\r\n", "VA 1\r\nz\r\n");
    HC_EXPECT(fd, "ms m 2 MS\r\nzz\r\n", "HD\r\n");
    /* a bad mode (1.6.18 takes upper case only) is refused, its data swallowed */
    HC_EXPECT(fd, "ms m 1 Mx\r\nx\r\n", "CLIENT_ERROR invalid mode for ms M token\r\n");
    HC_EXPECT(fd, "ms m 1 Ma\r\n!\r\n", "CLIENT_ERROR invalid mode for ms M token\r\n");
    HC_EXPECT(fd, "mg m v\r\n", "VA 2\r\nzz\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

START_TEST(ms_flags)
{
    int fd = hc_conn();
    HC_EXPECT(fd, "ms a 3\r\nabc\r\n", "HD\r\n");
    HC_EXPECT(fd, "mg a v\r\n", "VA 3\r\nabc\r\n");
    HC_EXPECT(fd, "mg a k v f s\r\n", "VA 3 ka f0 s3\r\nabc\r\n");
    HC_EXPECT(fd, "ms a 3 F5 T100\r\nxyz\r\n", "HD\r\n");
    mt_expect_ttl(fd, "mg a f s v t\r\n", "VA 3 f5 s3 t%d\r\nxyz\r\n", MT_TTL);
    /* k and O come back; their order follows the request */
    HC_EXPECT(fd, "ms a 1 MA k\r\nq\r\n", "HD ka\r\n");
    HC_EXPECT(fd, "ms a 1 MA O123 k\r\nq\r\n", "HD O123 ka\r\n");
    HC_EXPECT(fd, "mg a v f\r\n", "VA 5 f5\r\nxyzqq\r\n");
    /* F up to 2^32-1; T0 means no expiry */
    HC_EXPECT(fd, "ms fl 2 F4294967295 T0\r\nhi\r\n", "HD\r\n");
    HC_EXPECT(fd, "mg fl f t v\r\n", "VA 2 f4294967295 t-1\r\nhi\r\n");
    /* an empty value */
    HC_EXPECT(fd, "ms e 0\r\n\r\n", "HD\r\n");
    HC_EXPECT(fd, "mg e v s\r\n", "VA 0 s0\r\n\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

/* c returns the CAS; C compares it; I with an older C stores a stale item. */
START_TEST(ms_cas)
{
    int fd = hc_conn();
    long long c1 = mt_expect_cas(fd, "ms c 1 c\r\nx\r\n", "HD c%d\r\n");
    char req[128], pat[128];
    snprintf(pat, sizeof(pat), "VA 1 c%lld\r\nx\r\n", c1);
    HC_EXPECT(fd, "mg c c v\r\n", pat);
    /* a mismatch answers EX, and with c, CAS 0 */
    snprintf(req, sizeof(req), "ms c 1 C%lld c\r\ny\r\n", c1 + 1000);
    HC_EXPECT(fd, req, "EX c0\r\n");
    HC_EXPECT(fd, "mg c v\r\n", "VA 1\r\nx\r\n");
    snprintf(req, sizeof(req), "ms c 1 C%lld c\r\ny\r\n", c1);
    long long c2 = mt_expect_cas(fd, req, "HD c%d\r\n");
    ck_assert_int_gt(c2, c1);
    /* the old CAS no longer matches */
    snprintf(req, sizeof(req), "ms c 1 C%lld\r\nz\r\n", c1);
    HC_EXPECT(fd, req, "EX\r\n");
    /* I: an older CAS still stores, but marks the item stale */
    snprintf(req, sizeof(req), "ms c 1 C%lld I\r\nz\r\n", c1);
    HC_EXPECT(fd, req, "HD\r\n");
    long long nums[MT_NUMS_MAX];
    ck_assert_int_eq(mt_expect_pat(fd, "mg c v c\r\n", "VA 1 c%d X W\r\nz\r\n", nums), 1);
    ck_assert_int_gt(nums[0], c2);
    /* C on a missing key */
    HC_EXPECT(fd, "ms nc 1 C5\r\nq\r\n", "NF\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

START_TEST(mg_flags)
{
    int fd = hc_conn();
    HC_EXPECT(fd, "ms g 5 F9 T100\r\nhello\r\n", "HD\r\n");
    /* h: hit before; l: seconds since last access; both 0 before any fetch */
    mt_expect_ttl(fd, "mg g h l t\r\n", "HD h0 l0 t%d\r\n", MT_TTL);
    mt_expect_ttl(fd, "mg g h l t\r\n", "HD h1 l0 t%d\r\n", MT_TTL);
    mt_expect_cas(fd, "mg g c\r\n", "HD c%d\r\n");
    HC_EXPECT(fd, "mg g k f s v\r\n", "VA 5 kg f9 s5\r\nhello\r\n");
    HC_EXPECT(fd, "mg g Oabc v\r\n", "VA 5 Oabc\r\nhello\r\n");
    HC_EXPECT(fd, "mg g\r\n", "HD\r\n");
    /* a miss: EN, with k and O returned */
    HC_EXPECT(fd, "mg miss v\r\n", "EN\r\n");
    HC_EXPECT(fd, "mg miss k O9 v\r\n", "EN kmiss O9\r\n");
    /* q hides the miss only; a hit still answers */
    HC_EXPECT(fd, "mg miss v q\r\nmg miss k q O1\r\nmn\r\n", "MN\r\n");
    HC_EXPECT(fd, "mg g v q\r\nmg g q\r\nmn\r\n", "VA 5\r\nhello\r\nHD\r\nMN\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

/* b: the key is base64 on the wire, stored decoded. */
START_TEST(mg_base64)
{
    int fd = hc_conn();
    HC_EXPECT(fd, "ms Zm9v 3 b\r\nbar\r\n", "HD\r\n");
    HC_EXPECT(fd, "mg foo v\r\n", "VA 3\r\nbar\r\n");
    HC_EXPECT(fd, "mg Zm9v b v k\r\n", "VA 3 kZm9v b\r\nbar\r\n");
    HC_EXPECT(fd, "ms plain 2\r\nok\r\n", "HD\r\n");
    HC_EXPECT(fd, "mg cGxhaW4= b v\r\n", "VA 2\r\nok\r\n");
    HC_EXPECT(fd, "md Zm9v b\r\n", "HD\r\n");
    HC_EXPECT(fd, "mg foo v\r\n", "EN\r\n");
    HC_EXPECT(fd, "mg Zm9v= b v\r\n", "CLIENT_ERROR error decoding key\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

START_TEST(md_basic)
{
    int fd = hc_conn();
    HC_EXPECT(fd, "ms d 1\r\nx\r\n", "HD\r\n");
    HC_EXPECT(fd, "md d\r\n", "HD\r\n");
    HC_EXPECT(fd, "md d\r\n", "NF\r\n");
    HC_EXPECT(fd, "mg d v\r\n", "EN\r\n");
    /* q hides HD, not NF */
    HC_EXPECT(fd, "ms d 1\r\nx\r\n", "HD\r\n");
    HC_EXPECT(fd, "md d q\r\nmd d q\r\nmn\r\n", "NF\r\nMN\r\n");
    HC_EXPECT(fd, "md d k O7\r\n", "NF kd O7\r\n");
    /* C: only with the item's CAS */
    long long c = mt_expect_cas(fd, "ms d 1 c\r\nx\r\n", "HD c%d\r\n");
    char req[64];
    snprintf(req, sizeof(req), "md d C%lld\r\n", c + 1);
    HC_EXPECT(fd, req, "EX\r\n");
    HC_EXPECT(fd, "mg d v\r\n", "VA 1\r\nx\r\n");
    snprintf(req, sizeof(req), "md d C%lld q\r\nmn\r\n", c);
    HC_EXPECT(fd, req, "MN\r\n");
    HC_EXPECT(fd, "mg d v\r\n", "EN\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

/* md I marks stale: the first reader wins the refresh (W), later ones see Z. */
START_TEST(md_invalidate)
{
    int fd = hc_conn();
    HC_EXPECT(fd, "ms s 2 T0\r\nok\r\n", "HD\r\n");
    HC_EXPECT(fd, "md s I T30\r\n", "HD\r\n");
    long long nums[MT_NUMS_MAX];
    ck_assert_int_eq(mt_expect_pat(fd, "mg s v c\r\n", "VA 2 c%d X W\r\nok\r\n", nums), 1);
    long long c = nums[0];
    char pat[64];
    snprintf(pat, sizeof(pat), "VA 2 c%lld Z X\r\nok\r\n", c);
    HC_EXPECT(fd, "mg s v c\r\n", pat);
    mt_expect_ttl(fd, "mg s t\r\n", "HD t%d Z X\r\n", 30);
    /* a stale item refuses a CAS store with a stale CAS */
    HC_EXPECT(fd, "ms s 3 C999999\r\nnew\r\n", "EX\r\n");
    /* a plain set replaces it: fresh again */
    HC_EXPECT(fd, "ms s 3\r\nnew\r\n", "HD\r\n");
    HC_EXPECT(fd, "mg s v\r\n", "VA 3\r\nnew\r\n");
    HC_EXPECT(fd, "md nokey I\r\n", "NF\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

/* mg N on a miss creates an empty item: the first client gets W, the next Z. */
START_TEST(vivify)
{
    int a = hc_conn(), b = hc_conn();
    long long nums[MT_NUMS_MAX];
    ck_assert_int_eq(mt_expect_pat(a, "mg v1 N30 v c\r\n", "VA 0 c%d W\r\n\r\n", nums), 1);
    char pat[64];
    snprintf(pat, sizeof(pat), "VA 0 c%lld Z\r\n\r\n", nums[0]);
    HC_EXPECT(b, "mg v1 N30 v c\r\n", pat);
    mt_expect_ttl(b, "mg v1 N30 v t\r\n", "VA 0 t%d Z\r\n\r\n", 30);
    /* the winner fills it in; then it is an ordinary item */
    HC_EXPECT(a, "ms v1 3\r\nnew\r\n", "HD\r\n");
    HC_EXPECT(b, "mg v1 v\r\n", "VA 3\r\nnew\r\n");
    HC_EXPECT(b, "mg v1 N30 v\r\n", "VA 3\r\nnew\r\n");
    HC_USABLE(a);
    close(a);
    close(b);
}
END_TEST

START_TEST(ma_arith)
{
    int fd = hc_conn();
    HC_EXPECT(fd, "ma cnt\r\n", "NF\r\n");
    HC_EXPECT(fd, "ma cnt q\r\n", "NF\r\n");
    /* N autovivifies with J as the initial value */
    HC_EXPECT(fd, "ma cnt N0 J10 v\r\n", "VA 2\r\n10\r\n");
    HC_EXPECT(fd, "ma cnt v\r\n", "VA 2\r\n11\r\n");
    HC_EXPECT(fd, "ma cnt D5 v\r\n", "VA 2\r\n16\r\n");
    HC_EXPECT(fd, "ma cnt MD D3 v\r\n", "VA 2\r\n13\r\n");
    /* decrement stops at 0 */
    HC_EXPECT(fd, "ma cnt MD D100 v\r\n", "VA 1\r\n0\r\n");
    mt_expect_cas(fd, "ma cnt MI v t c\r\n", "VA 1 t-1 c%d\r\n1\r\n");
    HC_EXPECT(fd, "ma cnt q\r\nmn\r\n", "MN\r\n");
    /* incremented in place: the old length stays, space-padded */
    HC_EXPECT(fd, "mg cnt v\r\n", "VA 2\r\n2 \r\n");
    HC_EXPECT(fd, "ma cnt\r\n", "HD\r\n");
    HC_EXPECT(fd, "ma cnt N0 J7 v k O5\r\n", "VA 1 kcnt O5\r\n4\r\n");
    mt_expect_ttl(fd, "ma new N100 J42 v t\r\n", "VA 2 t%d\r\n42\r\n", MT_TTL);
    HC_EXPECT(fd, "ma new2 N0 v\r\n", "VA 1\r\n0\r\n");
    /* incr wraps at 2^64 */
    HC_EXPECT(fd, "ms big 20\r\n18446744073709551615\r\n", "HD\r\n");
    HC_EXPECT(fd, "ma big v\r\n", "VA 1\r\n0\r\n");
    HC_EXPECT(fd, "ma big v D18446744073709551615\r\n", "VA 20\r\n18446744073709551615\r\n");
    HC_EXPECT(fd, "ms txt 2\r\nab\r\n", "HD\r\n");
    HC_EXPECT(fd, "ma txt\r\n",
              "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
    HC_EXPECT(fd, "ma txt q\r\n",
              "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
    HC_EXPECT(fd, "ma cnt Mx\r\n", "CLIENT_ERROR invalid mode for ma M token\r\n");
    HC_EXPECT(fd, "ma cnt Dx\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

/* q on every command of a pipeline: only failures and the mn terminator answer. */
START_TEST(quiet_pipeline)
{
    int fd = hc_conn();
    char *req = malloc(MT_PIPELINE_N * 64 + 64), *exp = malloc(MT_PIPELINE_N * 64 + 64);
    size_t n = 0, e = 0;
    for (int i = 0; i < MT_PIPELINE_N; i++)
        n += (size_t)sprintf(req + n, "ms p%d %d q T0 F%d\r\n%d\r\n", i,
                             snprintf(NULL, 0, "%d", i * 3), i, i * 3);
    /* misses hidden, hits shown; the failed add and replace show */
    n += (size_t)sprintf(req + n, "mg none v q\r\nmg p1 v q\r\nms p2 1 q ME\r\nx\r\n"
                         "ms none 1 q MR\r\nx\r\nmd p0 q\r\nmd p0 q\r\nma p4 q\r\nmn\r\n");
    e += (size_t)sprintf(exp + e, "VA 1\r\n3\r\nNS\r\nNS\r\nNF\r\nMN\r\n");
    req[n] = '\0';
    HC_EXPECT(fd, req, exp);
    /* everything stored; p4 incremented */
    n = e = 0;
    for (int i = 1; i < MT_PIPELINE_N; i++) {
        int v = i * 3 + (i == 4);
        n += (size_t)sprintf(req + n, "mg p%d v f q\r\n", i);
        e += (size_t)sprintf(exp + e, "VA %d f%d\r\n%d\r\n", snprintf(NULL, 0, "%d", v), i, v);
    }
    n += (size_t)sprintf(req + n, "mg p0 v q\r\nmn\r\n");
    e += (size_t)sprintf(exp + e, "MN\r\n");
    HC_EXPECT(fd, req, exp);
    free(req);
    free(exp);
    HC_USABLE(fd);
    close(fd);
}
END_TEST

START_TEST(bad_flags)
{
    int fd = hc_conn();
    HC_EXPECT(fd, "ms a 1\r\nx\r\n", "HD\r\n");
    HC_EXPECT(fd, "mg a !\r\n", "CLIENT_ERROR invalid flag\r\n");
    HC_EXPECT(fd, "mg a v v\r\n", "CLIENT_ERROR duplicate flag\r\n");
    HC_EXPECT(fd, "ms a abc\r\n", "CLIENT_ERROR bad command line format\r\n");
    /* a bad token after a good length: the data block is swallowed */
    HC_EXPECT(fd, "ms a 2 Tx\r\nhi\r\n", "CLIENT_ERROR bad token in command line format\r\n");
    HC_EXPECT(fd, "ms a 2 T1 ZZ\r\nhi\r\n", "CLIENT_ERROR invalid flag\r\n");
    HC_EXPECT(fd, "ms a 2 MZ\r\nhi\r\n", "CLIENT_ERROR invalid mode for ms M token\r\n");
    HC_EXPECT(fd, "ms a 2 T1 T2\r\nhi\r\n", "CLIENT_ERROR duplicate flag\r\n");
    HC_EXPECT(fd, "md a Cx\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n");
    HC_EXPECT(fd, "md a x\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n");
    /* a data block longer than announced: its tail ("\n") is read as a
     * command, under 4 bytes (1.6.45: a format error) */
    HC_EXPECT(fd, "ms a 1\r\nyy\r\n",
              "CLIENT_ERROR bad data chunk\r\nCLIENT_ERROR bad command line format\r\n");
    HC_EXPECT(fd, "mg a v\r\n", "VA 1\r\nx\r\n");
    /* no key: 1.6.45's format error */
    HC_EXPECT(fd, "mg\r\n", "CLIENT_ERROR bad command line format\r\n");
    HC_EXPECT(fd, "ms\r\n", "CLIENT_ERROR bad command line format\r\n");
    HC_EXPECT(fd, "md\r\n", "CLIENT_ERROR bad command line format\r\n");
    HC_EXPECT(fd, "ma\r\n", "CLIENT_ERROR bad command line format\r\n");
    HC_EXPECT(fd, "mz a\r\n", "ERROR\r\n");
    /* a key over 250 bytes */
    char req[MT_KEY_MAX + 32];
    memset(req, 'k', sizeof(req));
    memcpy(req, "mg ", 3);
    snprintf(req + 3 + MT_KEY_MAX + 1, sizeof(req) - 3 - MT_KEY_MAX - 1, " v\r\n");
    HC_EXPECT(fd, req, "CLIENT_ERROR bad command line format\r\n");
    HC_EXPECT(fd, "mn\r\n", "MN\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

static Suite *mt_suite(void)
{
    Suite *s = suite_create("meta");
    TCase *tc = tcase_create("commands");
    tcase_add_checked_fixture(tc, mt_setup, mt_teardown);
    tcase_set_timeout(tc, MT_TIMEOUT_S);
    tcase_add_test(tc, mn_noop);
    tcase_add_test(tc, ms_modes);
    tcase_add_test(tc, ms_flags);
    tcase_add_test(tc, ms_cas);
    tcase_add_test(tc, mg_flags);
    tcase_add_test(tc, mg_base64);
    tcase_add_test(tc, md_basic);
    tcase_add_test(tc, md_invalidate);
    tcase_add_test(tc, vivify);
    tcase_add_test(tc, ma_arith);
    tcase_add_test(tc, quiet_pipeline);
    tcase_add_test(tc, bad_flags);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return hc_run_suite(mt_suite());
}
