/*
 * test_crawler: the LRU crawler and key dumps as clients see them.
 *
 *  - replies of `lru_crawler ...` and `stats cachedump` byte for byte as
 *    memcached 1.6.45 answers them (SERVER_BIN=memcached runs the suite
 *    against it);
 *  - metadump lists each of CR_KEYS keys exactly once with its fields
 *    (exp, la, cas, fetch, cls, size, flags); mgdump lists them too, a
 *    binary key in base64 with " b"; cachedump lists a class, with a limit;
 *  - a metadump while another client keeps writing still lists every key
 *    that was there before and stays there, exactly once; a client that
 *    does not read its dump costs the server less than CR_STALL_GROWTH_KB;
 *  - counts that tell the truth: after flush_all of CR_FLUSH_KEYS items,
 *    curr_items, bytes and every class's used_chunks and mem_requested are
 *    0 within CR_FLUSH_MS; CR_TTL_KEYS items with a CR_TTL_S second TTL
 *    are gone from curr_items within CR_TTL_MS of their store. Margins: the
 *    crawler looks at its schedule once a second and a full crawl of these
 *    tables takes well under 100 ms, so flush needs ~0.1 s of its 2 s and
 *    expiry ~3 s (2 s TTL + up to 1 s to the next look) of its 6 s. Both
 *    bounds double under sanitizers (SLABCACHE_SANITIZERS);
 *    Against memcached the checks that need every item in `stats cachedump`
 *    (memcached lists its COLD LRU only) or crawler_reclaimed (its LRU
 *    maintainer reclaims most) are left out;
 *  - memcdump (libmemcached-tools) and memcached's scripts/memcached-tool
 *    (`dump`, `keys -u`: keys unescaped) against the server; a missing tool
 *    fails, naming what to install (test_clients.sh runs the rest of
 *    memcached-tool, memcstat and memcdump's output against both servers).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define CR_TIMEOUT_S 120
#define CR_MS 1000
#define CR_POLL_MS 20
#define CR_SAN_FACTOR 2
#define CR_KEYS 1000
#define CR_FLUSH_KEYS 20000
#define CR_FLUSH_MS 2000
#define CR_TTL_KEYS 50000
#define CR_TTL_S 2
#define CR_TTL_MS 6000
#define CR_BATCH 500
#define CR_DUMP_MAX (32 * 1024 * 1024)
#define CR_STATS_MAX (64 * 1024)
#define CR_LINE_MAX 1024
#define CR_TOOL_OUT_MAX (4 * 1024 * 1024)
#define CR_TOOL ("/tmp/memcached-1.6.45/scripts/memcached-tool")   /* the reference build's */
#define CR_TOOL_IN_TARBALL "memcached-1.6.45/scripts/memcached-tool"
#define CR_TARBALL "/../shared/reference/memcached-1.6.45.tar.gz"     /* after $top_srcdir */
#define CR_PATH_MAX 512
#define CR_BASE_FLAGS 100
#define CR_RACE_KEYS 20000
#define CR_BIG_KEYS 200000
#define CR_SAN_KEYS_DIV 10           /* sanitizers: a tenth (only completeness is checked) */
#define CR_STALL_S 2
#define CR_STALL_GROWTH_KB (4 * 1024)

struct h_server hc_srv;

static void cr_setup(void)
{
}

static void cr_teardown(void)
{
    if (hc_srv.pid > 0)
        h_server_stop(&hc_srv);
    hc_srv.pid = 0;
}

/* ---------------------------------------------------------------- helpers */

static long long cr_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * CR_MS + ts.tv_nsec / (1000 * 1000);
}

static long long cr_bound_ms(long long ms)
{
    const char *san = getenv("SLABCACHE_SANITIZERS");
    return san != NULL && *san != '\0' ? ms * CR_SAN_FACTOR : ms;
}

static long long cr_stat(const char *group, const char *name)
{
    static char st[CR_STATS_MAX];
    ck_assert(h_stats(hc_srv.port, group, st, sizeof(st)));
    return h_stat_num(st, name);
}

static void cr_key(char *buf, size_t len, int i)
{
    snprintf(buf, len, "key:%05d", i);
}

/* Sets keys [from, to) with values of vlen bytes, pipelined, noreply. */
static void cr_fill(int fd, int from, int to, size_t vlen, int exptime)
{
    char *v = malloc(vlen + 1);
    memset(v, 'v', vlen);
    v[vlen] = '\0';
    char *batch = malloc((size_t)CR_BATCH * (vlen + 64));
    for (int i = from; i < to;) {
        size_t n = 0;
        for (int b = 0; b < CR_BATCH && i < to; b++, i++) {
            char k[32];
            cr_key(k, sizeof(k), i);
            n += (size_t)sprintf(batch + n, "set %s %d %d %zu noreply\r\n%s\r\n", k,
                                 CR_BASE_FLAGS + i % 7, exptime, vlen, v);
        }
        ck_assert(h_send(fd, batch, n));
    }
    free(batch);
    free(v);
    HC_USABLE(fd);   /* every set before it is done */
}

/* Sends req and reads the whole reply up to term into a malloc'd buffer. */
static char *cr_dump(int fd, const char *req, const char *term, size_t *len)
{
    char *buf = malloc(CR_DUMP_MAX);
    bool closed = false;
    ck_assert(h_send_str(fd, req));
    *len = h_read_until(fd, buf, CR_DUMP_MAX, term, cr_bound_ms(30 * CR_MS), &closed);
    ck_assert_msg(*len >= strlen(term) && strcmp(buf + *len - strlen(term), term) == 0,
                  "%s: no %s after %zu bytes", req, term, *len);
    return buf;
}

/* Index of "key:NNNNN" at p (url-encoded ':' is %3A), or -1. */
static int cr_index(const char *p, bool encoded)
{
    const char *prefix = encoded ? "key%3A" : "key:";
    if (strncmp(p, prefix, strlen(prefix)) != 0)
        return -1;
    return atoi(p + strlen(prefix));
}

/* ---------------------------------------------------------------- replies */

START_TEST(test_replies)
{
    HC_START(NULL);
    int fd = hc_conn();
    HC_EXPECT(fd, "lru_crawler crawl 1,2\r\n", "OK\r\n");
    HC_EXPECT(fd, "lru_crawler crawl 0\r\n", "BADCLASS invalid class id\r\n");
    HC_EXPECT(fd, "lru_crawler crawl x\r\n", "BADCLASS invalid class id\r\n");
    HC_EXPECT(fd, "lru_crawler crawl 64\r\n", "BADCLASS invalid class id\r\n");
    HC_EXPECT(fd, "lru_crawler metadump 200\r\n", "BADCLASS invalid class id\r\n");
    HC_EXPECT(fd, "lru_crawler sleep 2000000\r\n",
              "CLIENT_ERROR sleep must be one second or less\r\n");
    HC_EXPECT(fd, "lru_crawler sleep 50\r\n", "OK\r\n");
    HC_EXPECT(fd, "lru_crawler tocrawl x\r\n", "CLIENT_ERROR bad command line format\r\n");
    HC_EXPECT(fd, "lru_crawler tocrawl 0\r\n", "OK\r\n");
    HC_EXPECT(fd, "lru_crawler foo\r\n", "ERROR\r\n");
    HC_EXPECT(fd, "lru_crawler\r\n", "ERROR\r\n");
    HC_EXPECT(fd, "lru_crawler enable\r\n", "ERROR failed to start lru crawler thread\r\n");
    HC_EXPECT(fd, "lru_crawler metadump 3\r\n", "OK\r\nEND\r\n");
    HC_EXPECT(fd, "lru_crawler mgdump 3\r\n", "OK\r\nEN\r\n");
    HC_EXPECT(fd, "stats cachedump 1\r\n", "CLIENT_ERROR bad command line\r\n");
    HC_EXPECT(fd, "stats cachedump 300 1\r\n", "CLIENT_ERROR Illegal slab id\r\n");
    HC_EXPECT(fd, "stats cachedump x 1\r\n", "CLIENT_ERROR bad command line format\r\n");
    HC_EXPECT(fd, "stats cachedump 3 0\r\n", "END\r\n");
    HC_EXPECT(fd, "lru_crawler disable\r\n", "OK\r\n");
    HC_EXPECT(fd, "lru_crawler crawl all\r\n", "CLIENT_ERROR lru crawler disabled\r\n");
    HC_EXPECT(fd, "lru_crawler metadump all\r\n", "CLIENT_ERROR lru crawler disabled\r\n");
    HC_EXPECT(fd, "lru_crawler enable\r\n", "OK\r\n");
    if (h_is_slabcache())   /* memcached lists its COLD LRU only: a new item is HOT */
        HC_EXPECT(fd, "set a 5 0 1\r\nx\r\nstats cachedump 1 0\r\n",
                  "STORED\r\nITEM a [1 b; 0 s]\r\nEND\r\n");
    close(fd);
}
END_TEST

START_TEST(test_settings_and_stats)
{
    HC_START("-o", "no_lru_crawler,lru_crawler_sleep=7,lru_crawler_tocrawl=9", NULL);
    char st[CR_STATS_MAX], v[64];
    ck_assert(h_stats(hc_srv.port, "settings", st, sizeof(st)));
    ck_assert(h_stat_str(st, "lru_crawler", v, sizeof(v)) && strcmp(v, "no") == 0);
    ck_assert_int_eq(h_stat_num(st, "lru_crawler_sleep"), 7);
    ck_assert_int_eq(h_stat_num(st, "lru_crawler_tocrawl"), 9);
    int fd = hc_conn();
    HC_EXPECT(fd, "lru_crawler enable\r\n", "OK\r\n");
    HC_EXPECT(fd, "lru_crawler sleep 100\r\n", "OK\r\n");
    ck_assert(h_stats(hc_srv.port, "settings", st, sizeof(st)));
    ck_assert(h_stat_str(st, "lru_crawler", v, sizeof(v)) && strcmp(v, "yes") == 0);
    ck_assert_int_eq(h_stat_num(st, "lru_crawler_sleep"), 100);
    ck_assert_int_ge(cr_stat("", "lru_crawler_running"), 0);
    ck_assert_int_ge(cr_stat("", "lru_crawler_starts"), 0);
    ck_assert_int_ge(cr_stat("", "crawler_reclaimed"), 0);
    ck_assert_int_ge(cr_stat("", "crawler_items_checked"), 0);
    close(fd);
}
END_TEST

/* ---------------------------------------------------------------- dumps */

START_TEST(test_metadump_fields)
{
    HC_START(NULL);
    int fd = hc_conn();
    cr_fill(fd, 0, CR_KEYS, 10, 0);
    /* every 10th key gets a TTL, every 5th is fetched */
    for (int i = 0; i < CR_KEYS; i += 5) {
        char req[128], k[32];
        cr_key(k, sizeof(k), i);
        snprintf(req, sizeof(req), i % 10 == 0 ? "touch %s 1000\r\n" : "get %s\r\n", k);
        ck_assert(h_send_str(fd, req));
        char buf[256];
        h_read_until(fd, buf, sizeof(buf), i % 10 == 0 ? "TOUCHED\r\n" : "END\r\n",
                     H_IO_TIMEOUT_MS, NULL);
    }
    long long now = (long long)time(NULL);
    size_t len;
    char *d = cr_dump(fd, "lru_crawler metadump all\r\n", "END\r\n", &len);
    ck_assert_msg(strncmp(d, "OK\r\n", 4) == 0, "metadump starts with %.20s", d);
    int *seen = calloc(CR_KEYS, sizeof(int));
    int lines = 0;
    for (char *p = d + 4; p < d + len - 5;) {
        char *nl = strchr(p, '\n');
        ck_assert_ptr_nonnull(nl);
        *nl = '\0';
        char key[CR_LINE_MAX], fetch[8];
        long long exp, la;
        unsigned long long cas;
        unsigned cls, flags;
        size_t size;
        int n = sscanf(p, "key=%s exp=%lld la=%lld cas=%llu fetch=%7s cls=%u size=%zu flags=%u",
                       key, &exp, &la, &cas, fetch, &cls, &size, &flags);
        ck_assert_msg(n == 8, "line \"%s\"", p);
        ck_assert_msg(p[strlen(p) - 1] == ' ', "no trailing space: \"%s\"", p);
        int i = cr_index(key, true);
        ck_assert_msg(i >= 0 && i < CR_KEYS, "key %s", key);
        seen[i]++;
        ck_assert_int_eq(flags, CR_BASE_FLAGS + i % 7);
        ck_assert_str_eq(fetch, i % 5 == 0 ? "yes" : "no");
        if (i % 10 == 0)
            ck_assert_msg(exp >= now + 990 && exp <= now + 1010, "exp %lld", exp);
        else
            ck_assert_int_eq(exp, -1);
        ck_assert_msg(la >= now - 60 && la <= now + 60, "la %lld", la);
        ck_assert_uint_gt(cas, 0);
        ck_assert_uint_ge(cls, 1);
        ck_assert_uint_gt(size, 10);
        lines++;
        p = nl + 1;
    }
    ck_assert_int_eq(lines, CR_KEYS);
    for (int i = 0; i < CR_KEYS; i++)
        ck_assert_msg(seen[i] == 1, "key %d listed %d times", i, seen[i]);
    free(seen);
    free(d);
    HC_USABLE(fd);
    close(fd);
}
END_TEST

START_TEST(test_mgdump)
{
    HC_START(NULL);
    int fd = hc_conn();
    cr_fill(fd, 0, CR_KEYS, 10, 0);
    HC_EXPECT(fd, "ms AAEC 1 b\r\nz\r\n", "HD\r\n");
    /* ours: a key with a control byte goes out in base64 too (memcached writes it raw) */
    int unprintable = h_is_slabcache() ? 1 : 0;
    if (unprintable)
        HC_EXPECT(fd, "ms a\001b 1\r\nz\r\n", "HD\r\n");
    size_t len;
    char *d = cr_dump(fd, "lru_crawler mgdump all\r\n", "EN\r\n", &len);
    ck_assert(strncmp(d, "OK\r\n", 4) == 0);
    int *seen = calloc(CR_KEYS, sizeof(int));
    int lines = 0, binary = 0;
    for (char *p = d + 4; p < d + len - 4;) {
        char *nl = strstr(p, "\r\n");
        ck_assert_ptr_nonnull(nl);
        *nl = '\0';
        ck_assert_msg(strncmp(p, "mg ", 3) == 0, "line \"%s\"", p);
        if (strcmp(p, "mg AAEC b") == 0 || strcmp(p, "mg YQFi b") == 0) {
            binary++;
        } else {
            int i = cr_index(p + 3, false);
            ck_assert_msg(i >= 0 && i < CR_KEYS, "line \"%s\"", p);
            seen[i]++;
        }
        lines++;
        p = nl + 2;
    }
    ck_assert_int_eq(lines, CR_KEYS + 1 + unprintable);
    ck_assert_int_eq(binary, 1 + unprintable);
    for (int i = 0; i < CR_KEYS; i++)
        ck_assert_int_eq(seen[i], 1);
    free(seen);
    free(d);
    close(fd);
}
END_TEST

static int cr_count_lines(const char *d, const char *prefix)
{
    int n = 0;
    for (const char *p = d; (p = strstr(p, prefix)) != NULL; p += strlen(prefix))
        n++;
    return n;
}

/* cachedump of a class: every item of it (memcached: its COLD LRU only,
 * so the counts hold for slabcache alone). */
START_TEST(test_cachedump_class)
{
    if (!h_is_slabcache())
        return;
    HC_START(NULL);
    int fd = hc_conn();
    cr_fill(fd, 0, 50, 10, 0);             /* a small class */
    cr_fill(fd, 50, 80, 3000, 1000);       /* a larger one, with an exptime */
    int small = 0, big = 0;
    {
        size_t len;
        char *d = cr_dump(fd, "lru_crawler metadump all\r\n", "END\r\n", &len);
        char *p = strstr(d, "key=key%3A00000 ");
        ck_assert_ptr_nonnull(p);
        small = atoi(strstr(p, "cls=") + 4);
        p = strstr(d, "key=key%3A00060 ");
        ck_assert_ptr_nonnull(p);
        big = atoi(strstr(p, "cls=") + 4);
        free(d);
    }
    ck_assert_int_ne(small, big);
    char req[64];
    size_t len;
    snprintf(req, sizeof(req), "stats cachedump %d 0\r\n", small);
    char *d = cr_dump(fd, req, "END\r\n", &len);
    ck_assert_int_eq(cr_count_lines(d, "ITEM key:"), 50);
    ck_assert_ptr_nonnull(strstr(d, "ITEM key:00007 [10 b; 0 s]\r\n"));
    free(d);
    snprintf(req, sizeof(req), "stats cachedump %d 7\r\n", big);
    d = cr_dump(fd, req, "END\r\n", &len);
    ck_assert_int_eq(cr_count_lines(d, "ITEM key:"), 7);
    long long exp = atoll(strstr(d, "b; ") + 3);
    long long now = (long long)time(NULL);
    ck_assert_msg(exp >= now + 990 && exp <= now + 1010, "exptime %lld", exp);
    ck_assert_ptr_nonnull(strstr(d, " [3000 b; "));
    free(d);
    close(fd);
}
END_TEST

/* A dump while another client keeps writing other keys. */
struct cr_race {
    int port;
    atomic_bool stop;
};

static void *cr_writer(void *arg)
{
    struct cr_race *r = arg;
    int fd = h_connect(r->port);
    char buf[256];
    for (int i = 0; !atomic_load(&r->stop); i++) {
        int n = snprintf(buf, sizeof(buf), "set w:%d 0 0 5 noreply\r\nvalue\r\ndelete w:%d "
                         "noreply\r\n", i % CR_RACE_KEYS, (i + 7) % CR_RACE_KEYS);
        if (!h_send(fd, buf, (size_t)n))
            break;
        if (i % 1000 == 0)
            h_usable(fd);
    }
    close(fd);
    return NULL;
}

START_TEST(test_metadump_while_writing)
{
    HC_START(NULL);
    int fd = hc_conn();
    cr_fill(fd, 0, CR_KEYS * 10, 10, 0);
    struct cr_race r = { .port = hc_srv.port };
    pthread_t t;
    pthread_create(&t, NULL, cr_writer, &r);
    size_t len;
    char *d = cr_dump(fd, "lru_crawler metadump all\r\n", "END\r\n", &len);
    atomic_store(&r.stop, true);
    pthread_join(t, NULL);
    int *seen = calloc(CR_KEYS * 10, sizeof(int));
    for (char *p = d; (p = strstr(p, "key=key%3A")) != NULL; p += 4) {
        int i = cr_index(p + 4, true);
        ck_assert(i >= 0 && i < CR_KEYS * 10);
        seen[i]++;
    }
    for (int i = 0; i < CR_KEYS * 10; i++)
        ck_assert_msg(seen[i] == 1, "key %d listed %d times", i, seen[i]);
    free(seen);
    free(d);
    HC_USABLE(fd);
    close(fd);
}
END_TEST

/* The server's resident memory in kB (slabcache's /proc entry). */
static long long cr_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    long long kb = -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atoll(line + 6);
    fclose(f);
    return kb;
}

/* A client that asks for a dump of CR_BIG_KEYS keys (about 17 MB of lines,
 * more than the loopback socket buffers hold) and does not read it for a
 * while: the server holds at most a piece of it, so its resident memory
 * grows by less than CR_STALL_GROWTH_KB (not checked under sanitizers). */
START_TEST(test_dump_bounded_for_slow_reader)
{
    if (!h_is_slabcache())
        return;
    HC_START(NULL);
    int fd = hc_conn();
    bool sanitized = cr_bound_ms(1) != 1;
    int keys = sanitized ? CR_BIG_KEYS / CR_SAN_KEYS_DIV : CR_BIG_KEYS;
    cr_fill(fd, 0, keys, 10, 0);
    long long before = cr_rss_kb(hc_srv.pid);
    int slow = hc_conn();
    ck_assert(h_send_str(slow, "lru_crawler metadump all\r\n"));
    struct timespec ts = { CR_STALL_S, 0 };
    nanosleep(&ts, NULL);
    long long during = cr_rss_kb(hc_srv.pid);
    /* not under sanitizers: ASan's quarantine keeps every freed piece resident */
    if (!sanitized)
        ck_assert_msg(during - before < CR_STALL_GROWTH_KB,
                      "RSS grew %lld kB during a stalled dump", during - before);
    HC_USABLE(fd);                          /* other clients are served meanwhile */
    size_t len;
    char *d = cr_dump(slow, "", "END\r\n", &len);
    ck_assert_int_eq(cr_count_lines(d, "key=key%3A"), keys);
    free(d);
    close(slow);
    close(fd);
}
END_TEST

/* ---------------------------------------------------------------- counts */

static void cr_wait_items(long long want, long long bound_ms, long long since_ms,
                          const char *what)
{
    long long deadline = since_ms + cr_bound_ms(bound_ms);
    long long got;
    while ((got = cr_stat("", "curr_items")) != want && cr_now_ms() < deadline) {
        struct timespec ts = { 0, CR_POLL_MS * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(got == want, "%s: curr_items %lld after %lld ms, want %lld", what, got,
                  cr_now_ms() - since_ms, want);
}

/* Every class of `stats slabs` shows 0 of name. */
static void cr_slabs_all_zero(const char *name)
{
    static char st[CR_STATS_MAX];
    ck_assert(h_stats(hc_srv.port, "slabs", st, sizeof(st)));
    char pat[64];
    snprintf(pat, sizeof(pat), ":%s ", name);
    for (const char *p = st; (p = strstr(p, pat)) != NULL; p += strlen(pat))
        ck_assert_msg(atoll(p + strlen(pat)) == 0, "%s not 0: %.40s", name, p);
}

START_TEST(test_flush_counts)
{
    HC_START(NULL);
    int fd = hc_conn();
    cr_fill(fd, 0, CR_FLUSH_KEYS / 2, 10, 0);
    cr_fill(fd, CR_FLUSH_KEYS / 2, CR_FLUSH_KEYS, 700, 0);
    ck_assert_int_eq(cr_stat("", "curr_items"), CR_FLUSH_KEYS);
    HC_EXPECT(fd, "flush_all\r\n", "OK\r\n");
    long long t0 = cr_now_ms();
    cr_wait_items(0, CR_FLUSH_MS, t0, "flush_all");
    ck_assert_int_eq(cr_stat("", "bytes"), 0);
    /* the crawler and the LRU maintainer share the work (memcached's
     * maintainer takes most of them, and counts them nowhere we read) */
    if (h_is_slabcache())
        ck_assert_int_eq(cr_stat("", "crawler_reclaimed") + cr_stat("", "reclaimed"),
                         CR_FLUSH_KEYS);
    cr_slabs_all_zero("used_chunks");
    cr_slabs_all_zero("mem_requested");
    ck_assert_int_eq(cr_stat("slabs", "total_malloced") >= 0, 1);
    close(fd);
}
END_TEST

START_TEST(test_expiry_counts)
{
    HC_START(NULL);
    int fd = hc_conn();
    long long t0 = cr_now_ms();
    cr_fill(fd, 0, CR_TTL_KEYS, 10, CR_TTL_S);
    /* every one stored (total_items: a slow build may take the TTL to fill,
     * and the first keys may already be gone) */
    ck_assert_int_eq(cr_stat("", "total_items"), CR_TTL_KEYS);
    cr_wait_items(0, CR_TTL_MS, t0, "2 s TTL");
    ck_assert_int_eq(cr_stat("", "bytes"), 0);
    if (h_is_slabcache())       /* crawler and maintainer, as above */
        ck_assert_int_eq(cr_stat("", "crawler_reclaimed") + cr_stat("", "reclaimed"),
                         CR_TTL_KEYS);
    cr_slabs_all_zero("used_chunks");
    close(fd);
}
END_TEST

/* ---------------------------------------------------------------- tools */

/* Runs a shell command line, capturing stdout; its exit status. */
static int cr_run(const char *cmd, char *out, size_t cap)
{
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    return pclose(f);
}

static void cr_assert_all_keys(const char *out, int n)
{
    int *seen = calloc((size_t)n, sizeof(int));
    for (const char *p = out; (p = strstr(p, "key:")) != NULL; p += 4) {
        int i = atoi(p + 4);
        ck_assert(i >= 0 && i < n);
        seen[i]++;
    }
    for (int i = 0; i < n; i++)
        ck_assert_msg(seen[i] == 1, "key %d listed %d times", i, seen[i]);
    free(seen);
}

START_TEST(test_memcdump)
{
    ck_assert_msg(system("command -v memcdump >/dev/null 2>&1") == 0,
                  "memcdump not found: apt-get install libmemcached-tools (./dev installs it)");
    if (!h_is_slabcache())
        return;   /* memcdump reads cachedump: memcached lists COLD items only */
    HC_START(NULL);
    int fd = hc_conn();
    cr_fill(fd, 0, CR_KEYS, 10, 0);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "timeout 60 memcdump --servers=127.0.0.1:%d", hc_srv.port);
    char *out = malloc(CR_TOOL_OUT_MAX);
    ck_assert_int_eq(cr_run(cmd, out, CR_TOOL_OUT_MAX), 0);
    cr_assert_all_keys(out, CR_KEYS);
    free(out);
    close(fd);
}
END_TEST

/*
 * memcached's scripts/memcached-tool: $MEMCACHED_TOOL, else the reference
 * build's copy, else the script read from the reference tarball beside the
 * source tree into dir (run, never copied into the project). False: none.
 */
static bool cr_find_tool(char *path, size_t cap, const char *dir)
{
    const char *env = getenv("MEMCACHED_TOOL");
    const char *top = getenv("top_srcdir");
    if (env != NULL && access(env, R_OK) == 0) {
        snprintf(path, cap, "%s", env);
        return true;
    }
    if (access(CR_TOOL, R_OK) == 0) {
        snprintf(path, cap, "%s", CR_TOOL);
        return true;
    }
    char cmd[3 * CR_PATH_MAX];
    snprintf(cmd, sizeof(cmd), "tar -xzf '%s" CR_TARBALL "' -C '%s' " CR_TOOL_IN_TARBALL
             " 2>/dev/null", top != NULL ? top : ".", dir);
    snprintf(path, cap, "%s/" CR_TOOL_IN_TARBALL, dir);
    return system(cmd) == 0 && access(path, R_OK) == 0;
}

START_TEST(test_memcached_tool)
{
    ck_assert_msg(system("perl -MURI::Escape -e 1 >/dev/null 2>&1") == 0,
                  "memcached-tool needs perl with URI::Escape: apt-get install liburi-perl");
    char dir[] = "/tmp/slabcache-t-tool-XXXXXX", tool[CR_PATH_MAX], clean[CR_PATH_MAX];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_msg(cr_find_tool(tool, sizeof(tool), dir),
                  "memcached-tool not found: set MEMCACHED_TOOL, build the reference memcached, "
                  "or keep shared/reference beside the source tree");
    HC_START(NULL);
    int fd = hc_conn();
    cr_fill(fd, 0, CR_KEYS, 10, 0);
    char cmd[2 * CR_PATH_MAX];
    char *out = malloc(CR_TOOL_OUT_MAX);
    snprintf(cmd, sizeof(cmd), "timeout 60 perl %s 127.0.0.1:%d keys -u 2>/dev/null", tool,
             hc_srv.port);
    ck_assert_int_eq(cr_run(cmd, out, CR_TOOL_OUT_MAX), 0);
    cr_assert_all_keys(out, CR_KEYS);
    snprintf(cmd, sizeof(cmd), "timeout 60 perl %s 127.0.0.1:%d dump 2>/dev/null", tool,
             hc_srv.port);
    ck_assert_int_eq(cr_run(cmd, out, CR_TOOL_OUT_MAX), 0);
    ck_assert_int_eq(cr_count_lines(out, "add key:"), CR_KEYS);
    ck_assert_ptr_nonnull(strstr(out, "add key:00003 103 0 10\r\nvvvvvvvvvv\r\n"));
    free(out);
    close(fd);
    snprintf(clean, sizeof(clean), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(clean), 0);
}
END_TEST

static Suite *crawler_suite(void)
{
    Suite *s = suite_create("crawler");
    TCase *tc = tcase_create("crawler");
    tcase_add_checked_fixture(tc, cr_setup, cr_teardown);
    tcase_set_timeout(tc, CR_TIMEOUT_S);
    tcase_add_test(tc, test_replies);
    tcase_add_test(tc, test_settings_and_stats);
    tcase_add_test(tc, test_metadump_fields);
    tcase_add_test(tc, test_mgdump);
    tcase_add_test(tc, test_cachedump_class);
    tcase_add_test(tc, test_metadump_while_writing);
    tcase_add_test(tc, test_dump_bounded_for_slow_reader);
    tcase_add_test(tc, test_flush_counts);
    tcase_add_test(tc, test_expiry_counts);
    tcase_add_test(tc, test_memcdump);
    tcase_add_test(tc, test_memcached_tool);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return hc_run_suite(crawler_suite());
}
