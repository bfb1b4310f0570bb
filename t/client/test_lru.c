/*
 * test_lru: the segmented LRU as clients and operators see it.
 *
 * Replies of `lru tune|mode|temp_ttl`, byte for byte as memcached 1.6.45
 * answers (SERVER_BIN=memcached runs this suite against it); the `stats
 * settings` keys of the LRU options; and the scan of issue 13: on a fresh
 * -m 64 server, LRU_HOT_KEYS keys are read over and over (one multi-get of
 * LRU_BATCH hot keys after every LRU_BATCH new keys) while LRU_SCAN_KEYS new
 * keys of LRU_VALUE bytes are set once each, a scan larger than memory. At
 * the end at least LRU_SURVIVAL_MIN of the hot keys must still be there:
 * memcached 1.6.45 keeps 100% of them, the issue asks for 98% of its figure
 * (the flat LRU of old kept 0%).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define LRU_TIMEOUT_S 300
#define LRU_HOT_KEYS 20000
#define LRU_SCAN_KEYS 600000
#define LRU_VALUE 100
#define LRU_BATCH 100
#define LRU_SURVIVAL_MIN 0.98
#define LRU_LINE_MAX 128
#define LRU_STATS_MAX (64 * 1024)

struct h_server hc_srv;

static void lru_teardown(void)
{
    if (hc_srv.pid > 0)
        h_server_stop(&hc_srv);
    hc_srv.pid = 0;
}

static int lru_start(const char *const *flags)
{
    ck_assert(h_server_start(&hc_srv, flags));
    int fd = h_connect(hc_srv.port);
    ck_assert_int_ge(fd, 0);
    return fd;
}

/* ---------------------------------------------------------------- replies */

#define LRU_OK "OK\r\n"
#define LRU_ERROR "ERROR\r\n"
#define LRU_PCTS "ERROR hot and warm pcts must not exceed 80\r\n"
#define LRU_FACTORS "ERROR hot/warm age factors must be greater than 0\r\n"

START_TEST(lru_replies)
{
    static const char *const flags[] = { NULL };
    int fd = lru_start(flags);
    HC_EXPECT(fd, "lru\r\n", LRU_ERROR);
    HC_EXPECT(fd, "lru tune\r\n", LRU_ERROR);
    HC_EXPECT(fd, "lru tune 10 10 0.1 1\r\n", LRU_OK);
    HC_EXPECT(fd, "lru tune 50 40 1 1\r\n", LRU_PCTS);
    HC_EXPECT(fd, "lru tune 40 40 1 1\r\n", LRU_OK);
    HC_EXPECT(fd, "lru tune 10 10 0 1\r\n", LRU_FACTORS);
    HC_EXPECT(fd, "lru tune 10 10 1 -1\r\n", LRU_FACTORS);
    HC_EXPECT(fd, "lru tune x 1 1 1\r\n", LRU_ERROR);
    HC_EXPECT(fd, "lru tune -1 10 1 1\r\n", LRU_ERROR);
    HC_EXPECT(fd, "lru tune 10 10 1 1 extra\r\n", LRU_OK);
    HC_EXPECT(fd, "lru t 10 10 1e2 1\r\n", LRU_OK);
    HC_EXPECT(fd, "lru mode\r\n", LRU_ERROR);
    HC_EXPECT(fd, "lru mode other\r\n", LRU_ERROR);
    HC_EXPECT(fd, "lru m flat\r\n", LRU_OK);
    HC_EXPECT(fd, "lru mode segmented\r\n", LRU_OK);
    HC_EXPECT(fd, "lru temp_ttl\r\n", LRU_ERROR);
    HC_EXPECT(fd, "lru temp_ttl x\r\n", LRU_ERROR);
    HC_EXPECT(fd, "lru temp_ttl 99999999999\r\n", LRU_ERROR);
    HC_EXPECT(fd, "lru temp 5\r\n", LRU_OK);
    HC_EXPECT(fd, "lru temp_ttl -1\r\n", LRU_OK);
    HC_EXPECT(fd, "lru bogus\r\n", LRU_ERROR);
    /* noreply hides the OK: the next reply is version's */
    char reply[LRU_LINE_MAX];
    ck_assert(h_send_str(fd, "lru mode flat noreply\r\nversion\r\n"));
    h_read_until(fd, reply, sizeof(reply), "\r\n", H_IO_TIMEOUT_MS, NULL);
    ck_assert_msg(strncmp(reply, "VERSION ", strlen("VERSION ")) == 0, "got \"%s\"",
                  h_escape(reply, strlen(reply)));
    close(fd);
}
END_TEST

/* What `lru` set is what `stats settings` shows, under memcached's keys. */
START_TEST(lru_settings_shown)
{
    static const char *const flags[] = { "-o", "hot_lru_pct=30,temporary_ttl=10", NULL };
    int fd = lru_start(flags);
    static char st[LRU_STATS_MAX];
    char v[LRU_LINE_MAX];
    ck_assert(h_stats(hc_srv.port, "settings", st, sizeof(st)));
    ck_assert(h_stat_str(st, "lru_maintainer_thread", v, sizeof(v)) && strcmp(v, "yes") == 0);
    ck_assert(h_stat_str(st, "lru_segmented", v, sizeof(v)) && strcmp(v, "yes") == 0);
    ck_assert_int_eq(h_stat_num(st, "hot_lru_pct"), 30);
    ck_assert_int_eq(h_stat_num(st, "warm_lru_pct"), 40);
    ck_assert(h_stat_str(st, "hot_max_factor", v, sizeof(v)) && strcmp(v, "0.20") == 0);
    ck_assert(h_stat_str(st, "warm_max_factor", v, sizeof(v)) && strcmp(v, "2.00") == 0);
    ck_assert(h_stat_str(st, "temp_lru", v, sizeof(v)) && strcmp(v, "yes") == 0);
    ck_assert_int_eq(h_stat_num(st, "temporary_ttl"), 10);
    HC_EXPECT(fd, "lru tune 10 20 0.5 3\r\n", LRU_OK);
    HC_EXPECT(fd, "lru mode flat\r\n", LRU_OK);
    ck_assert(h_stats(hc_srv.port, "settings", st, sizeof(st)));
    ck_assert(h_stat_str(st, "lru_segmented", v, sizeof(v)) && strcmp(v, "no") == 0);
    ck_assert_int_eq(h_stat_num(st, "hot_lru_pct"), 10);
    ck_assert_int_eq(h_stat_num(st, "warm_lru_pct"), 20);
    ck_assert(h_stat_str(st, "hot_max_factor", v, sizeof(v)) && strcmp(v, "0.50") == 0);
    ck_assert(h_stat_str(st, "warm_max_factor", v, sizeof(v)) && strcmp(v, "3.00") == 0);
    close(fd);
}
END_TEST

/* ---------------------------------------------------------------- the scan */

/* Sets keys prefix<from>.. (n of them) with noreply: nothing to read back. */
static void lru_set_noreply(int fd, const char *prefix, int from, int n)
{
    static char value[LRU_VALUE + 2];
    memset(value, 'x', LRU_VALUE);
    memcpy(value + LRU_VALUE, "\r\n", 2);
    for (int i = 0; i < n; i++) {
        char head[LRU_LINE_MAX];
        int hl = snprintf(head, sizeof(head), "set %s%d 0 0 %d noreply\r\n", prefix, from + i,
                          LRU_VALUE);
        ck_assert(h_send(fd, head, (size_t)hl) && h_send(fd, value, sizeof(value)));
    }
}

/* One multi-get of prefix<from>.. (n keys); returns how many were found. */
static int lru_get_count(int fd, const char *prefix, int from, int n)
{
    char line[LRU_BATCH * LRU_LINE_MAX];
    static char reply[LRU_BATCH * (LRU_VALUE + LRU_LINE_MAX)];
    int ll = snprintf(line, sizeof(line), "get");
    for (int i = 0; i < n; i++)
        ll += snprintf(line + ll, sizeof(line) - (size_t)ll, " %s%d", prefix, from + i);
    ll += snprintf(line + ll, sizeof(line) - (size_t)ll, "\r\n");
    ck_assert(h_send(fd, line, (size_t)ll));
    size_t got = 0;
    /* values are all 'x': "END\r\n" at the end can only be the reply's end */
    while (got < 5 || memcmp(reply + got - 5, "END\r\n", 5) != 0) {
        ck_assert_msg(got < sizeof(reply), "get reply too large");
        ssize_t r = recv(fd, reply + got, sizeof(reply) - got, 0);
        ck_assert_msg(r > 0, "connection lost in a get reply");
        got += (size_t)r;
    }
    int found = 0;
    for (const char *p = reply; (p = memmem(p, got - (size_t)(p - reply), "VALUE ", 6)) != NULL;
         p += 6)
        found++;
    return found;
}

START_TEST(hot_set_survives_scan)
{
    static const char *const flags[] = { "-m", "64", NULL };
    int fd = lru_start(flags);
    for (int k = 0; k < LRU_HOT_KEYS; k += LRU_BATCH)
        lru_set_noreply(fd, "hot:", k, LRU_BATCH);
    int hot_next = 0;
    for (int k = 0; k < LRU_SCAN_KEYS; k += LRU_BATCH) {
        lru_set_noreply(fd, "scan:", k, LRU_BATCH);
        lru_get_count(fd, "hot:", hot_next, LRU_BATCH);
        hot_next = (hot_next + LRU_BATCH) % LRU_HOT_KEYS;
    }
    int kept = 0;
    for (int k = 0; k < LRU_HOT_KEYS; k += LRU_BATCH)
        kept += lru_get_count(fd, "hot:", k, LRU_BATCH);
    static char st[LRU_STATS_MAX];
    ck_assert(h_stats(hc_srv.port, NULL, st, sizeof(st)));
    long long evictions = h_stat_num(st, "evictions");
    printf("hot keys surviving the scan: %d of %d (%.1f%%), evictions %lld\n", kept,
           LRU_HOT_KEYS, 100.0 * kept / LRU_HOT_KEYS, evictions);
    ck_assert_msg(evictions > 0, "the scan must be larger than memory");
    ck_assert_msg(kept >= LRU_SURVIVAL_MIN * LRU_HOT_KEYS, "only %d of %d hot keys survived",
                  kept, LRU_HOT_KEYS);
    close(fd);
}
END_TEST

static Suite *lru_suite(void)
{
    Suite *s = suite_create("lru");
    TCase *tc = tcase_create("lru");
    tcase_add_checked_fixture(tc, NULL, lru_teardown);
    tcase_set_timeout(tc, LRU_TIMEOUT_S);
    tcase_add_test(tc, lru_replies);
    tcase_add_test(tc, lru_settings_shown);
    tcase_add_test(tc, hot_set_survives_scan);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return hc_run_suite(lru_suite());
}
