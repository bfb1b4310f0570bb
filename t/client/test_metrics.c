/*
 * test_metrics: -o metrics_port, GET /metrics in Prometheus's text format.
 *
 * A scrape is an HTTP/1.0 GET over a raw socket, read to EOF. After 10 sets
 * of 100-byte values, two hits and a miss, the scrape holds the counters and
 * gauges of `stats` with their TYPE lines and the same values, one series
 * per class labelled with the class and chunk size `stats slabs` reports,
 * and every family printed whole after its one TYPE line. Where `promtool`
 * (Debian's prometheus package) is installed, `promtool check metrics`
 * must accept the scrape; without it that step says so and is left out.
 * Also: other paths are 404, a busy metrics port fails the start, and with
 * -s the endpoint is on 127.0.0.1.
 *
 * The size histogram: after MT_SETS items of MT_SMALL_VALUE bytes and as many
 * of MT_LARGE_VALUE bytes (both below the store's exact 4 KiB range), every
 * cumulative bucket of slabcache_item_size_bytes counts exactly the items no
 * larger than its le, _count is the items and _sum the bytes `stats` reports
 * (each group's item size is learnt from `stats` bytes, so the item header's
 * size is not written here). After `slabs retune`, the bounds besides the
 * powers of two are exactly the advised table's chunk sizes, and the retune
 * series read one retune, its unix time in seconds and its waste as ratios.
 *
 * slabcache's alone: memcached has no metrics endpoint, so against it
 * (SERVER_BIN) the suite has no test case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define MT_TIMEOUT_S 30
#define MT_REPLY_MAX (512 * 1024)
#define MT_STATS_MAX 65536
#define MT_SETS 10
#define MT_VALUE 100
#define MT_LINE_MAX 512
#define MT_FAMILIES_MAX 512
#define MT_PORT_TEXT 32
#define MT_PATH_MAX 256
#define MT_CMD_MAX 512
#define MT_SMALL_VALUE 20
#define MT_LARGE_VALUE 3000
#define MT_BOUNDS_MAX 512
#define MT_SIZE_BUCKET "slabcache_item_size_bytes_bucket{le=\""

static char mt_reply[MT_REPLY_MAX];

/* GET path on port into mt_reply (headers and body); its length, 0 on failure. */
static size_t mt_get(int port, const char *path)
{
    int fd = h_connect(port);
    if (fd < 0)
        return 0;
    char req[MT_LINE_MAX];
    snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    bool closed = false;
    size_t n = 0;
    if (h_send_str(fd, req))
        n = h_read_until(fd, mt_reply, sizeof(mt_reply), NULL, H_IO_TIMEOUT_MS, &closed);
    close(fd);
    return closed ? n : 0;
}

static const char *mt_body(void)
{
    const char *b = strstr(mt_reply, "\r\n\r\n");
    return b != NULL ? b + 4 : "";
}

/* A line of the scrape, whole. */
static bool mt_has_line(const char *body, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = body; (p = strstr(p, line)) != NULL; p++)
        if ((p == body || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

static void mt_set_and_get(int port)
{
    int fd = h_connect(port);
    ck_assert_int_ge(fd, 0);
    char buf[MT_LINE_MAX];
    char value[MT_VALUE + 1];
    memset(value, 'v', MT_VALUE);
    value[MT_VALUE] = '\0';
    for (int i = 0; i < MT_SETS; i++) {
        char req[MT_LINE_MAX];
        snprintf(req, sizeof(req), "set key%d 0 0 %d\r\n%s\r\n", i, MT_VALUE, value);
        ck_assert_int_eq(h_roundtrip(fd, req, strlen(req), buf, sizeof(buf), 8, H_IO_TIMEOUT_MS),
                         8);
        ck_assert_str_eq(buf, "STORED\r\n");
    }
    const char *gets = "get key0\r\nget key1\r\nget absent\r\n";
    h_send_str(fd, gets);
    h_read_until(fd, buf, sizeof(buf), "END\r\nEND\r\nEND\r\n", H_IO_TIMEOUT_MS, NULL);
    close(fd);
}

static bool mt_start(struct h_server *s, int metrics_port)
{
    char opt[MT_PORT_TEXT];
    snprintf(opt, sizeof(opt), "metrics_port=%d", metrics_port);
    const char *flags[] = { "-o", opt, NULL };
    return h_server_start(s, flags);
}

/* A sample's name within the family current: the name, or a histogram's parts. */
static bool mt_in_family(const char *current, bool histogram, const char *line, size_t len)
{
    static const char *const parts[] = { "_bucket", "_sum", "_count" };
    size_t n = strlen(current);
    if (len < n || strncmp(line, current, n) != 0)
        return false;
    if (len == n)
        return !histogram;
    for (size_t i = 0; histogram && i < sizeof(parts) / sizeof(parts[0]); i++)
        if (len - n == strlen(parts[i]) && strncmp(line + n, parts[i], len - n) == 0)
            return true;
    return false;
}

/* Every sample's family has exactly one TYPE line, printed before its samples. */
static void mt_check_families(const char *body)
{
    static char typed[MT_FAMILIES_MAX][MT_LINE_MAX];
    unsigned ntyped = 0;
    char current[MT_LINE_MAX] = "";
    bool histogram = false;
    const char *p = body;
    while (*p) {
        const char *eol = strchr(p, '\n');
        ck_assert_msg(eol != NULL, "unterminated line: %s", p);
        char line[MT_LINE_MAX];
        snprintf(line, sizeof(line), "%.*s", (int)(eol - p), p);
        char name[MT_LINE_MAX];
        char kind[MT_LINE_MAX];
        if (sscanf(line, "# TYPE %511s %511s", name, kind) == 2) {
            for (unsigned i = 0; i < ntyped; i++)
                ck_assert_msg(strcmp(typed[i], name) != 0, "two TYPE lines for %s", name);
            ck_assert_uint_lt(ntyped, MT_FAMILIES_MAX);
            snprintf(typed[ntyped++], MT_LINE_MAX, "%s", name);
            snprintf(current, sizeof(current), "%s", name);
            histogram = strcmp(kind, "histogram") == 0;
        } else if (line[0] != '#') {
            ck_assert_msg(mt_in_family(current, histogram, line, strcspn(line, "{ ")),
                          "sample outside its family (%s): %s", current, line);
        }
        p = eol + 1;
    }
    ck_assert_uint_gt(ntyped, 50);
}

/* The class holding the MT_SETS items: its number and chunk size from `stats slabs`. */
static void mt_class_of_sets(int port, unsigned *cls, long long *chunk)
{
    static char stats[MT_STATS_MAX];
    ck_assert(h_stats(port, "slabs", stats, sizeof(stats)));
    for (unsigned c = 1; c < 256; c++) {
        char name[MT_LINE_MAX];
        snprintf(name, sizeof(name), "%u:used_chunks", c);
        if (h_stat_num(stats, name) == MT_SETS) {
            snprintf(name, sizeof(name), "%u:chunk_size", c);
            *cls = c;
            *chunk = h_stat_num(stats, name);
            return;
        }
    }
    ck_abort_msg("no class holds the %d items", MT_SETS);
}

/* `promtool check metrics` on the scrape, where promtool is installed. */
static void mt_promtool(const char *body)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        printf("test_metrics: promtool not installed (Debian package prometheus): "
               "`promtool check metrics` left out\n");
        return;
    }
    char path[MT_PATH_MAX];
    snprintf(path, sizeof(path), "/tmp/test_metrics.%ld.txt", (long)getpid());
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(body, f);
    ck_assert_int_eq(fclose(f), 0);
    char cmd[MT_CMD_MAX];
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char out[MT_LINE_MAX * 4] = "";
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    unlink(path);
    ck_assert_msg(rc == 0 && n == 0, "promtool check metrics (%d): %s", rc, out);
    printf("test_metrics: promtool check metrics: clean\n");
}

START_TEST(scrape_after_sets)
{
    struct h_server s = { 0 };
    int mport = h_free_port();
    ck_assert(mt_start(&s, mport));
    mt_set_and_get(s.port);
    size_t n = mt_get(mport, "/metrics");
    ck_assert_uint_gt(n, 0);
    ck_assert_msg(strncmp(mt_reply, "HTTP/1.1 200 OK\r\n", 17) == 0 ||
                      strncmp(mt_reply, "HTTP/1.0 200 OK\r\n", 17) == 0,
                  "status: %.40s", mt_reply);
    ck_assert_ptr_nonnull(strstr(mt_reply, "Content-Type: text/plain; version=0.0.4"));
    const char *body = mt_body();

    const char *lines[] = {
        "# TYPE slabcache_cmd_set_total counter", "slabcache_cmd_set_total 10",
        "# TYPE slabcache_get_hits_total counter", "slabcache_get_hits_total 2",
        "# TYPE slabcache_get_misses_total counter", "slabcache_get_misses_total 1",
        "# TYPE slabcache_curr_items gauge", "slabcache_curr_items 10",
        "# TYPE slabcache_items_total counter", "slabcache_items_total 10",
        "# TYPE slabcache_limit_max_bytes gauge", "slabcache_limit_max_bytes 67108864",
        "# TYPE slabcache_threads gauge", "slabcache_threads 4",
        "# TYPE slabcache_curr_connections gauge",
        "# TYPE slabcache_read_bytes_total counter",
        "# TYPE slabcache_uptime_seconds gauge",
        "# TYPE slabcache_rusage_user_seconds_total counter",
        "# TYPE slabcache_evictions_total counter", "slabcache_evictions_total 0",
        "# TYPE slabcache_class_items gauge",
        "# TYPE slabcache_class_total_pages gauge",
        "# TYPE slabcache_class_chunk_waste_bytes gauge",
        "# TYPE slabcache_class_evicted_total counter",
        "# TYPE slabcache_class_moves_to_cold_total counter",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        ck_assert_msg(mt_has_line(body, lines[i]), "missing line: %s", lines[i]);

    unsigned cls = 0;
    long long chunk = 0;
    mt_class_of_sets(s.port, &cls, &chunk);
    char line[MT_LINE_MAX];
    snprintf(line, sizeof(line), "slabcache_class_items{class=\"%u\",chunk_size=\"%lld\"} %d",
             cls, chunk, MT_SETS);
    ck_assert_msg(mt_has_line(body, line), "missing line: %s", line);
    snprintf(line, sizeof(line),
             "slabcache_class_total_pages{class=\"%u\",chunk_size=\"%lld\"} 1", cls, chunk);
    ck_assert_msg(mt_has_line(body, line), "missing line: %s", line);
    snprintf(line, sizeof(line),
             "slabcache_class_get_hits_total{class=\"%u\",chunk_size=\"%lld\"} 2", cls, chunk);
    ck_assert_msg(mt_has_line(body, line), "missing line: %s", line);
    ck_assert_ptr_nonnull(strstr(body, "slabcache_info{version=\""));

    mt_check_families(body);
    mt_promtool(body);
    h_server_stop(&s);
}
END_TEST

/* MT_SETS values of value_len bytes under keys prefix0..; the bytes one item needs. */
static long long mt_set_group(int port, const char *prefix, int value_len)
{
    static char stats[MT_STATS_MAX];
    ck_assert(h_stats(port, "", stats, sizeof(stats)));
    long long before = h_stat_num(stats, "bytes");
    int fd = h_connect(port);
    ck_assert_int_ge(fd, 0);
    char *req = malloc((size_t)value_len + MT_LINE_MAX);
    ck_assert_ptr_nonnull(req);
    char buf[MT_LINE_MAX];
    for (int i = 0; i < MT_SETS; i++) {
        int n = snprintf(req, MT_LINE_MAX, "set %s%d 0 0 %d\r\n", prefix, i, value_len);
        memset(req + n, 'v', (size_t)value_len);
        memcpy(req + n + value_len, "\r\n", 2);
        size_t len = (size_t)n + (size_t)value_len + 2;
        ck_assert_uint_eq(h_roundtrip(fd, req, len, buf, sizeof(buf), 8, H_IO_TIMEOUT_MS), 8);
        ck_assert_str_eq(buf, "STORED\r\n");
    }
    free(req);
    close(fd);
    ck_assert(h_stats(port, "", stats, sizeof(stats)));
    long long added = h_stat_num(stats, "bytes") - before;
    ck_assert_int_eq(added % MT_SETS, 0);
    return added / MT_SETS;
}

/* The histogram's finite bounds, ascending, each bucket's count checked. */
static unsigned mt_size_buckets(const char *body, long long small, long long large,
                                long long *bounds)
{
    unsigned n = 0;
    long long last = -1, count;
    for (const char *p = body; (p = strstr(p, MT_SIZE_BUCKET)) != NULL; p++) {
        p += strlen(MT_SIZE_BUCKET);
        if (strncmp(p, "+Inf\"} ", 7) == 0) {
            ck_assert_int_eq(sscanf(p + 7, "%lld", &count), 1);
            ck_assert_int_eq(count, 2 * MT_SETS);
            continue;
        }
        long long le;
        ck_assert_int_eq(sscanf(p, "%lld\"} %lld", &le, &count), 2);
        ck_assert_msg(le > last, "bounds not ascending: %lld after %lld", le, last);
        long long want = (small <= le ? MT_SETS : 0) + (large <= le ? MT_SETS : 0);
        ck_assert_msg(count == want, "le=%lld: %lld items, want %lld", le, count, want);
        ck_assert_uint_lt(n, MT_BOUNDS_MAX);
        bounds[n++] = last = le;
    }
    return n;
}

static bool mt_has_bound(const long long *bounds, unsigned n, long long le)
{
    for (unsigned i = 0; i < n; i++)
        if (bounds[i] == le)
            return true;
    return false;
}

static bool mt_power_of_two(long long v)
{
    return v > 0 && (v & (v - 1)) == 0;
}

/* `slabs advise`'s free_slab_sizes ("a-b-c"), parsed into sizes; their count. */
static unsigned mt_advised_sizes(int port, long long *sizes)
{
    int fd = h_connect(port);
    ck_assert_int_ge(fd, 0);
    static char reply[MT_STATS_MAX];
    h_send_str(fd, "slabs advise\r\n");
    h_read_until(fd, reply, sizeof(reply), "END\r\n", H_IO_TIMEOUT_MS, NULL);
    close(fd);
    char text[MT_LINE_MAX];
    ck_assert_msg(h_stat_str(reply, "free_slab_sizes", text, sizeof(text)), "advise: %s", reply);
    unsigned n = 0;
    for (char *save = NULL, *tok = strtok_r(text, "-", &save); tok != NULL;
         tok = strtok_r(NULL, "-", &save)) {
        ck_assert_uint_lt(n, MT_BOUNDS_MAX);
        sizes[n++] = atoll(tok);
    }
    return n;
}

START_TEST(size_histogram_is_exact)
{
    struct h_server s = { 0 };
    int mport = h_free_port();
    ck_assert(mt_start(&s, mport));
    long long small = mt_set_group(s.port, "small", MT_SMALL_VALUE);
    long long large = mt_set_group(s.port, "large", MT_LARGE_VALUE);
    ck_assert_int_lt(small, large);
    static char stats[MT_STATS_MAX];
    ck_assert(h_stats(s.port, "", stats, sizeof(stats)));
    long long bytes = h_stat_num(stats, "bytes");

    ck_assert_uint_gt(mt_get(mport, "/metrics"), 0);
    const char *body = mt_body();
    ck_assert(mt_has_line(body, "# TYPE slabcache_item_size_bytes histogram"));
    static long long bounds[MT_BOUNDS_MAX];
    unsigned n = mt_size_buckets(body, small, large, bounds);
    ck_assert(mt_has_bound(bounds, n, 1024) && mt_has_bound(bounds, n, 4096));
    char line[MT_LINE_MAX];
    snprintf(line, sizeof(line), "slabcache_item_size_bytes_sum %lld", bytes);
    ck_assert_msg(mt_has_line(body, line), "missing line: %s", line);
    snprintf(line, sizeof(line), "slabcache_item_size_bytes_count %d", 2 * MT_SETS);
    ck_assert_msg(mt_has_line(body, line), "missing line: %s", line);
    ck_assert(mt_has_line(body, "slabcache_slab_retunes_total 0"));

    static long long advised[MT_BOUNDS_MAX];
    unsigned nadvised = mt_advised_sizes(s.port, advised);
    int fd = h_connect(s.port);
    char buf[MT_LINE_MAX];
    ck_assert_uint_eq(h_roundtrip(fd, "slabs retune\r\n", 14, buf, sizeof(buf), 4,
                                  H_IO_TIMEOUT_MS), 4);
    ck_assert_str_eq(buf, "OK\r\n");
    close(fd);
    ck_assert_uint_gt(mt_get(mport, "/metrics"), 0);
    body = mt_body();
    n = mt_size_buckets(body, small, large, bounds);
    for (unsigned i = 0; i < nadvised; i++)
        ck_assert_msg(mt_has_bound(bounds, n, advised[i]), "no bound at %lld", advised[i]);
    for (unsigned i = 0; i < n; i++)
        ck_assert_msg(mt_power_of_two(bounds[i]) || mt_has_bound(advised, nadvised, bounds[i]),
                      "bound %lld is neither a power of two nor an advised chunk", bounds[i]);
    ck_assert(mt_has_line(body, "slabcache_slab_retunes_total 1"));
    ck_assert(h_stats(s.port, "", stats, sizeof(stats)));
    snprintf(line, sizeof(line), "slabcache_slab_retune_last_timestamp_seconds %lld",
             h_stat_num(stats, "slab_retune_last"));
    ck_assert_msg(mt_has_line(body, line), "missing line: %s", line);
    ck_assert(mt_has_line(body, "# TYPE slabcache_slab_retune_waste_before_ratio gauge"));
    ck_assert(mt_has_line(body, "# TYPE slabcache_slab_retune_waste_after_ratio gauge"));
    mt_promtool(body);
    h_server_stop(&s);
}
END_TEST

START_TEST(other_paths_are_404)
{
    struct h_server s = { 0 };
    int mport = h_free_port();
    ck_assert(mt_start(&s, mport));
    ck_assert_uint_gt(mt_get(mport, "/"), 0);
    ck_assert_msg(strncmp(mt_reply + 9, "404", 3) == 0, "status: %.40s", mt_reply);
    ck_assert_uint_gt(mt_get(mport, "/metricsx"), 0);
    ck_assert_msg(strncmp(mt_reply + 9, "404", 3) == 0, "status: %.40s", mt_reply);
    /* the cache port still answers the cache protocol */
    int fd = h_connect(s.port);
    ck_assert(h_usable(fd));
    close(fd);
    h_server_stop(&s);
}
END_TEST

START_TEST(busy_port_fails_the_start)
{
    int port = h_free_port();
    char port_text[MT_PORT_TEXT], opt[MT_PORT_TEXT];
    snprintf(port_text, sizeof(port_text), "%d", port);
    snprintf(opt, sizeof(opt), "metrics_port=%d", port);
    const char *args[] = { "-l", "127.0.0.1", "-p", port_text, "-o", opt, "-u", "root", NULL };
    char out[MT_LINE_MAX], err[MT_LINE_MAX];
    int rc = h_run_capture(args, out, sizeof(out), err, sizeof(err), H_START_TIMEOUT_MS);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(err, "Address already in use") != NULL, "stderr: %s", err);
}
END_TEST

START_TEST(unix_socket_serves_on_loopback)
{
    char dir[] = "/tmp/test_metrics.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[MT_PATH_MAX], opt[MT_PORT_TEXT];
    snprintf(path, sizeof(path), "%s/sock", dir);
    int mport = h_free_port();
    snprintf(opt, sizeof(opt), "metrics_port=%d", mport);
    const char *args[] = { "-s", path, "-o", opt, NULL };
    struct h_server s = { 0 };
    ck_assert(h_server_start_args(&s, args, path, 0));
    ck_assert_uint_gt(mt_get(mport, "/metrics"), 0);
    ck_assert_ptr_nonnull(strstr(mt_body(), "\nslabcache_curr_items 0\n"));
    h_server_stop(&s);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *mt_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_set_timeout(tc, MT_TIMEOUT_S);
    if (h_is_slabcache()) {
        tcase_add_test(tc, scrape_after_sets);
        tcase_add_test(tc, size_histogram_is_exact);
        tcase_add_test(tc, other_paths_are_404);
        tcase_add_test(tc, busy_port_fails_the_start);
        tcase_add_test(tc, unix_socket_serves_on_loopback);
    }
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return hc_run_suite(mt_suite());
}
