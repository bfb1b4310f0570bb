/*
 * hcheck: Check assertions over the harness (exact reply bytes, with both
 * sides printed escaped on failure), and the per-test server fixture.
 */
#ifndef T_CLIENT_HCHECK_H
#define T_CLIENT_HCHECK_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t/client/harness.h"

#define HC_REPLY_MAX (256 * 1024)

/* Runs one suite; the exit status a test program returns (0 when all passed). */
static inline int hc_run_suite(Suite *suite)
{
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * Sends req (len bytes) and compares the reply with exp (elen bytes): the
 * reply must be exactly exp, so once exp's bytes are in, any byte that
 * follows within H_EXTRA_WAIT_MS is a difference too.
 * Returns NULL when equal, else a malloc'd description of the difference.
 */
static inline char *hc_diff(int fd, const char *req, size_t len,
                            const char *exp, size_t elen)
{
    static char got[HC_REPLY_MAX];
    size_t n = h_roundtrip(fd, req, len, got, sizeof(got), elen, H_IO_TIMEOUT_MS);
    if (n == elen && memcmp(got, exp, elen) == 0) {
        n += h_read_extra(fd, got + n, sizeof(got) - 1 - n, H_EXTRA_WAIT_MS);
        if (n == elen)
            return NULL;
    }
    char *msg = NULL, sreq[512], sexp[1024];
    snprintf(sreq, sizeof(sreq), "%s", h_escape(req, len < 200 ? len : 200));
    snprintf(sexp, sizeof(sexp), "%s", h_escape(exp, elen));
    if (asprintf(&msg, "sent \"%s\"%s: expected \"%s\", got \"%s\"", sreq,
                 len < 200 ? "" : "...", sexp, h_escape(got, n)) < 0)
        return strdup("out of memory");
    return msg;
}

/* Exact reply check for a C-string request and expectation. */
#define HC_EXPECT(fd, req, exp) do {                                        \
        char *hc_m_ = hc_diff((fd), (req), strlen(req), (exp), strlen(exp)); \
        ck_assert_msg(hc_m_ == NULL, "%s", hc_m_);                          \
    } while (0)

#define HC_EXPECT_N(fd, req, rlen, exp) do {                                \
        char *hc_m_ = hc_diff((fd), (req), (rlen), (exp), strlen(exp));     \
        ck_assert_msg(hc_m_ == NULL, "%s", hc_m_);                          \
    } while (0)

#define HC_USABLE(fd) \
    ck_assert_msg(h_usable(fd), "connection no longer answers `version`")

/* The fixture's server, started fresh for each test (checked fixture). */
extern struct h_server hc_srv;

#define HC_START(...) do {                                                  \
        const char *const hc_f_[] = { __VA_ARGS__ };                        \
        ck_assert_msg(h_server_start(&hc_srv, hc_f_), "server %s did not start", \
                      h_server_bin());                                      \
    } while (0)

static inline int hc_conn(void)
{
    int fd = h_connect(hc_srv.port);
    ck_assert_msg(fd >= 0, "connect to port %d failed", hc_srv.port);
    return fd;
}

/* ---- replies matched by shape: "%d" in a pattern stands for a number ---- */

#define HC_NUMS_MAX 8

enum hc_match { HC_FAIL, HC_PREFIX, HC_FULL };

/*
 * Matches got (n bytes) against pat, where "%d" stands for one or more
 * digits with an optional leading '-' (a CAS, a TTL: values each server
 * computes its own way) and every other byte must be equal. HC_PREFIX: got
 * could still grow into a match. The numbers "%d" matched go to nums (up to
 * HC_NUMS_MAX), their count to *count.
 */
static inline enum hc_match hc_match(const char *pat, const char *got, size_t n,
                                     long long *nums, int *count)
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
                return HC_PREFIX;   /* more digits may come */
            if (i == digits)
                return HC_FAIL;
            if (c < HC_NUMS_MAX)
                nums[c++] = strtoll(got + start, NULL, 10);
            pat += 2;
            continue;
        }
        if (i == n)
            return HC_PREFIX;
        if (got[i] != *pat)
            return HC_FAIL;
        i++;
        pat++;
    }
    *count = c;
    return i == n ? HC_FULL : HC_FAIL;
}

/*
 * Sends req (len bytes) and reads until the reply matches pat in full, can
 * no longer match, or no byte comes for H_IO_TIMEOUT_MS; a byte that follows a full
 * match within H_EXTRA_WAIT_MS fails too. Returns NULL on a match (the
 * numbers in nums, their count in *count), else a malloc'd description.
 */
static inline char *hc_diff_pat(int fd, const char *req, size_t len, const char *pat,
                                long long *nums, int *count)
{
    static char got[HC_REPLY_MAX];
    size_t n = 0;
    *count = 0;
    if (!h_send(fd, req, len))
        return strdup("send failed");
    enum hc_match m = hc_match(pat, got, 0, nums, count);
    while (m == HC_PREFIX && n < sizeof(got) - 1) {
        size_t r = h_read_extra(fd, got + n, sizeof(got) - 1 - n, H_IO_TIMEOUT_MS);
        if (r == 0)
            break;
        n += r;
        m = hc_match(pat, got, n, nums, count);
    }
    size_t full = n;
    if (m == HC_FULL)
        n += h_read_extra(fd, got + n, sizeof(got) - 1 - n, H_EXTRA_WAIT_MS);
    if (m == HC_FULL && n == full)
        return NULL;
    char *msg = NULL, sreq[512], spat[1024];
    snprintf(sreq, sizeof(sreq), "%s", h_escape(req, len < 200 ? len : 200));
    snprintf(spat, sizeof(spat), "%s", h_escape(pat, strlen(pat)));
    if (asprintf(&msg, "sent \"%s\"%s: expected \"%s\", got \"%s\"", sreq,
                 len < 200 ? "" : "...", spat, h_escape(got, n)) < 0)
        return strdup("out of memory");
    return msg;
}

/* Pattern reply check; the numbers "%d" matched go to nums, their count is returned. */
static inline int hc_expect_pat(int fd, const char *req, const char *pat, long long *nums)
{
    long long local[HC_NUMS_MAX];
    int count = 0;
    char *m = hc_diff_pat(fd, req, strlen(req), pat, nums != NULL ? nums : local, &count);
    ck_assert_msg(m == NULL, "%s", m);
    return count;
}

#endif
