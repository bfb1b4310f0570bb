/*
 * metrics: GET /metrics on -o metrics_port, in Prometheus's text format.
 *
 * Every series comes from the `stats`, `stats slabs` and `stats items`
 * groups, read through a stat_sink exactly as a client's `stats` reads them
 * (stats.c's X-macro tables): no stats name is listed a second time here. A
 * line becomes a series by these rules:
 *  - name: "slabcache_", the stats name (or its rename in metric_rules), the
 *    base unit ("_bytes", "_seconds", "_ratio") unless the name already ends
 *    in it, and "_total" for a counter;
 *  - kind: a counter when stats_is_counter() says the line only counts up
 *    until `stats reset`, or metric_rules says so; a gauge otherwise;
 *  - per-class lines ("N:x" of `stats slabs`, "items:N:x" of `stats items`)
 *    make one family slabcache_class_x, labelled class and chunk_size (a
 *    field both groups print, mem_requested, is taken once);
 *  - text values (version, libevent) become the labels of slabcache_info 1.
 * Each family is printed whole after its # HELP and # TYPE lines, as the
 * format requires, so per-class samples are gathered before printing.
 *
 * Served by libevent's evhttp on the main thread's event base: a scrape reads
 * the counters through stats_group(), as a worker's `stats` does, so nothing
 * new is shared between threads. The sockets are bound with the cache's
 * (listeners_open_port), before -d and -u. A scrape connection's request
 * headers are bounded and it is closed after METRICS_TIMEOUT_SECONDS; only
 * GET is served. The port should face the monitoring network only: evhttp in
 * libevent 2.1 has no cap on simultaneous connections beyond the process's
 * descriptor limit.
 *
 * The item size histogram, slabcache_item_size_bytes, is the store's own
 * (store_sizes, slabs/sizes.c: the bytes each linked item needs in one chunk)
 * with fewer buckets: its bounds (le) are the powers of two from
 * METRICS_SIZE_FIRST up to the largest item (-I) and the chunk size of each
 * class of the live table, so a bucket reads "items that fit this class's
 * chunk" and the powers stay put across retunes. Each bound is raised to the
 * upper edge of the store's bucket holding it (store sizes are exact to 8
 * bytes up to STORE_SIZES_FINE_MAX, 1/16 of a doubling above), so every
 * cumulative count is exact; _sum is exact up to STORE_SIZES_FINE_MAX and
 * counts larger items at their bucket's middle.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "server/server.h"

#define METRICS_PREFIX "slabcache_"
#define METRICS_CLASS_PREFIX "class_"
#define METRICS_ITEMS_PREFIX "items:"
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_PATH "/metrics"
#define METRICS_SOCKETS_MAX 8          /* addresses the -l host may resolve to */
#define METRICS_TIMEOUT_SECONDS 10
#define METRICS_HEADERS_MAX 8192
#define METRICS_FIELDS_MAX 128         /* per-class fields of `stats slabs` + `stats items` */
#define METRICS_NAME_MAX 128
#define METRICS_VALUE_MAX 64
#define METRICS_SAMPLES_INITIAL 256
#define METRICS_SIZE_FAMILY METRICS_PREFIX "item_size_bytes"
#define METRICS_SIZE_FIRST 64          /* smallest power-of-two bound: below any header + key */
#define US_PER_SECOND 1e6
#define PERCENT 100.0

enum metric_kind {
    METRIC_AUTO = 0,   /* counter if stats_is_counter(), else gauge */
    METRIC_COUNTER,
    METRIC_GAUGE,
    METRIC_LABEL,      /* a label of the class series, not a series */
};

enum metric_unit {
    UNIT_NONE = 0,
    UNIT_BYTES,
    UNIT_SECONDS,
    UNIT_MICROSECONDS,   /* printed in seconds */
    UNIT_PERCENT,        /* printed as a ratio */
};

/*
 * What a stats name alone does not say: its Prometheus kind, base unit or a
 * clearer name (after the prefix, before the unit). Names absent here are
 * unit-less and typed by stats_is_counter().
 */
static const struct metric_rule {
    const char *stat;
    const char *rename;        /* NULL: the stats name */
    enum metric_kind kind;
    enum metric_unit unit;
} metric_rules[] = {
    { "uptime", NULL, METRIC_GAUGE, UNIT_SECONDS },
    { "time", NULL, METRIC_GAUGE, UNIT_SECONDS },
    { "rusage_user", NULL, METRIC_COUNTER, UNIT_SECONDS },
    { "rusage_system", NULL, METRIC_COUNTER, UNIT_SECONDS },
    { "total_connections", "connections", METRIC_AUTO, UNIT_NONE },
    { "read_buf_count", "read_buffers", METRIC_AUTO, UNIT_NONE },
    { "read_buf_bytes", NULL, METRIC_AUTO, UNIT_BYTES },
    { "read_buf_bytes_free", "read_buf_free", METRIC_AUTO, UNIT_BYTES },
    { "response_obj_count", "response_objects", METRIC_GAUGE, UNIT_NONE },
    { "response_obj_bytes", "response_obj", METRIC_GAUGE, UNIT_BYTES },
    { "bytes_read", "read", METRIC_AUTO, UNIT_BYTES },
    { "bytes_written", "written", METRIC_AUTO, UNIT_BYTES },
    { "limit_maxbytes", "limit_max", METRIC_AUTO, UNIT_BYTES },
    { "listen_disabled_num", NULL, METRIC_COUNTER, UNIT_NONE },
    { "time_in_listen_disabled_us", "time_in_listen_disabled", METRIC_COUNTER,
      UNIT_MICROSECONDS },
    { "hash_bytes", NULL, METRIC_AUTO, UNIT_BYTES },
    { "bytes", NULL, METRIC_AUTO, UNIT_BYTES },
    { "total_items", "items", METRIC_AUTO, UNIT_NONE },
    { "total_malloced", "malloced", METRIC_AUTO, UNIT_BYTES },
    { "total_mem_requested", "mem_requested", METRIC_AUTO, UNIT_BYTES },
    { "total_chunk_waste", "chunk_waste", METRIC_AUTO, UNIT_BYTES },
    { "total_chunk_waste_pct", "chunk_waste", METRIC_GAUGE, UNIT_PERCENT },
    /* per class */
    { "chunk_size", NULL, METRIC_LABEL, UNIT_BYTES },
    { "mem_requested", NULL, METRIC_AUTO, UNIT_BYTES },
    { "chunk_waste", NULL, METRIC_AUTO, UNIT_BYTES },
    { "chunk_waste_pct", "chunk_waste", METRIC_GAUGE, UNIT_PERCENT },
    { "number", "items", METRIC_AUTO, UNIT_NONE },
    { "age", NULL, METRIC_GAUGE, UNIT_SECONDS },
    { "age_hot", NULL, METRIC_GAUGE, UNIT_SECONDS },
    { "age_warm", NULL, METRIC_GAUGE, UNIT_SECONDS },
    { "evicted_time", NULL, METRIC_GAUGE, UNIT_SECONDS },
    /* per-class counters the store keeps without a store-wide sum */
    { "evicted_nonzero", NULL, METRIC_COUNTER, UNIT_NONE },
    { "evicted_active", NULL, METRIC_COUNTER, UNIT_NONE },
    { "outofmemory", NULL, METRIC_COUNTER, UNIT_NONE },
    { "lrutail_reflocked", NULL, METRIC_COUNTER, UNIT_NONE },
    { "moves_to_cold", NULL, METRIC_COUNTER, UNIT_NONE },
    { "moves_to_warm", NULL, METRIC_COUNTER, UNIT_NONE },
    { "moves_within_lru", NULL, METRIC_COUNTER, UNIT_NONE },
    { "direct_reclaims", NULL, METRIC_COUNTER, UNIT_NONE },
    { "hits_to_hot", NULL, METRIC_COUNTER, UNIT_NONE },
    { "hits_to_warm", NULL, METRIC_COUNTER, UNIT_NONE },
    { "hits_to_cold", NULL, METRIC_COUNTER, UNIT_NONE },
    { "hits_to_temp", NULL, METRIC_COUNTER, UNIT_NONE },
    /* class table switches (slabs retune, -o slab_sizes=auto) */
    { "slab_retunes", NULL, METRIC_COUNTER, UNIT_NONE },
    { "slab_retune_last", "slab_retune_last_timestamp", METRIC_GAUGE, UNIT_SECONDS },
    { "slab_retune_waste_before_pct", "slab_retune_waste_before", METRIC_GAUGE, UNIT_PERCENT },
    { "slab_retune_waste_after_pct", "slab_retune_waste_after", METRIC_GAUGE, UNIT_PERCENT },
};

static const char *const unit_suffix[] = {
    [UNIT_NONE] = "",
    [UNIT_BYTES] = "bytes",
    [UNIT_SECONDS] = "seconds",
    [UNIT_MICROSECONDS] = "seconds",
    [UNIT_PERCENT] = "ratio",
};

struct metrics {
    struct evhttp *http;
    int fds[METRICS_SOCKETS_MAX];   /* bound; evhttp owns them once started */
    int nfds;
};

/* One per-class line, printed once its family is complete. */
struct class_sample {
    unsigned field;
    unsigned cls;
    char value[METRICS_VALUE_MAX];
};

/* A scrape in progress: the sink the stats groups write to. */
struct scrape {
    struct stat_sink sink;         /* first: the sink is the scrape */
    const char *group;             /* the group being read, for HELP */
    const char *class_prefix;      /* "" (stats slabs), "items:", NULL (stats) */
    struct evbuffer *out;
    struct evbuffer *info;         /* labels of slabcache_info */
    bool failed;                   /* out of memory: the reply is a 500 */
    char fields[METRICS_FIELDS_MAX][METRICS_NAME_MAX];
    const char *field_group[METRICS_FIELDS_MAX];
    unsigned nfields;
    bool seen[METRICS_FIELDS_MAX][CLASS_MAX + 1];
    char chunk_size[CLASS_MAX + 1][METRICS_VALUE_MAX];
    struct class_sample *samples;
    size_t nsamples, cap;
};

static const struct metric_rule *metric_rule_of(const char *stat)
{
    static const struct metric_rule plain = { NULL, NULL, METRIC_AUTO, UNIT_NONE };
    for (size_t i = 0; i < sizeof(metric_rules) / sizeof(metric_rules[0]); i++)
        if (strcmp(stat, metric_rules[i].stat) == 0)
            return &metric_rules[i];
    return &plain;
}

static bool metric_is_counter(const char *stat, const struct metric_rule *r)
{
    return r->kind == METRIC_COUNTER || (r->kind == METRIC_AUTO && stats_is_counter(stat));
}

static bool metric_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0 && (n == m || s[n - m - 1] == '_');
}

/* slabcache_[class_]<name>[_unit][_total] */
static void metric_name(const char *stat, const char *scope, char *out, size_t cap)
{
    const struct metric_rule *r = metric_rule_of(stat);
    const char *base = r->rename != NULL ? r->rename : stat;
    const char *unit = unit_suffix[r->unit];
    bool add_unit = *unit != '\0' && !metric_ends_with(base, unit);
    snprintf(out, cap, METRICS_PREFIX "%s%s%s%s%s", scope, base, add_unit ? "_" : "",
             add_unit ? unit : "", metric_is_counter(stat, r) ? "_total" : "");
}

/* The value in the series' base unit; false when it is not a number. */
static bool metric_value(const char *stat, const char *text, char *out, size_t cap)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end != '\0')
        return false;
    enum metric_unit unit = metric_rule_of(stat)->unit;
    if (unit == UNIT_MICROSECONDS)
        snprintf(out, cap, "%.6f", v / US_PER_SECOND);
    else if (unit == UNIT_PERCENT)
        snprintf(out, cap, "%.4f", v / PERCENT);
    else
        snprintf(out, cap, "%s", text);   /* exact, as `stats` printed it */
    return true;
}

static void metric_family_head(struct scrape *sc, const char *name, const char *stat,
                               const char *group, bool per_class)
{
    bool counter = metric_is_counter(stat, metric_rule_of(stat));
    if (evbuffer_add_printf(sc->out, "# HELP %s `stats%s%s` %s%s\n# TYPE %s %s\n", name,
                            *group ? " " : "", group, per_class ? "N:" : "", stat, name,
                            counter ? "counter" : "gauge") < 0)
        sc->failed = true;
}

/* A label value with \, " and newline escaped, as the format asks. */
static void metric_label(struct scrape *sc, struct evbuffer *b, const char *name,
                         const char *value, bool first)
{
    if (evbuffer_add_printf(b, "%s%s=\"", first ? "" : ",", name) < 0)
        sc->failed = true;
    for (const char *p = value; *p; p++) {
        const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
        if ((esc ? evbuffer_add(b, esc, strlen(esc)) : evbuffer_add(b, p, 1)) != 0)
            sc->failed = true;
    }
    if (evbuffer_add(b, "\"", 1) != 0)
        sc->failed = true;
}

/* A store-wide line: a family of one sample, printed at once. */
static void scrape_general(struct scrape *sc, const char *stat, const char *text)
{
    char name[METRICS_NAME_MAX], value[METRICS_VALUE_MAX];
    if (!metric_value(stat, text, value, sizeof(value))) {
        metric_label(sc, sc->info, stat, text, evbuffer_get_length(sc->info) == 0);
        return;
    }
    metric_name(stat, "", name, sizeof(name));
    metric_family_head(sc, name, stat, sc->group, false);
    if (evbuffer_add_printf(sc->out, "%s %s\n", name, value) < 0)
        sc->failed = true;
}

static int scrape_field(struct scrape *sc, const char *field)
{
    for (unsigned i = 0; i < sc->nfields; i++)
        if (strcmp(sc->fields[i], field) == 0)
            return (int)i;
    if (sc->nfields == METRICS_FIELDS_MAX) {
        sc->failed = true;
        return -1;
    }
    snprintf(sc->fields[sc->nfields], METRICS_NAME_MAX, "%s", field);
    sc->field_group[sc->nfields] = sc->group;
    return (int)sc->nfields++;
}

/* A per-class line: kept until both groups are read. */
static void scrape_class(struct scrape *sc, unsigned cls, const char *field, const char *text)
{
    const struct metric_rule *r = metric_rule_of(field);
    if (r->kind == METRIC_LABEL) {
        snprintf(sc->chunk_size[cls], METRICS_VALUE_MAX, "%s", text);
        return;
    }
    char value[METRICS_VALUE_MAX];
    int f = scrape_field(sc, field);
    if (f < 0 || sc->seen[f][cls] || !metric_value(field, text, value, sizeof(value)))
        return;
    if (sc->nsamples == sc->cap) {
        size_t cap = sc->cap ? 2 * sc->cap : METRICS_SAMPLES_INITIAL;
        struct class_sample *s = realloc(sc->samples, cap * sizeof(*s));
        if (s == NULL) {
            sc->failed = true;
            return;
        }
        sc->samples = s;
        sc->cap = cap;
    }
    struct class_sample *s = &sc->samples[sc->nsamples++];
    s->field = (unsigned)f;
    s->cls = cls;
    memcpy(s->value, value, sizeof(value));
    sc->seen[f][cls] = true;
}

static void scrape_emit(struct stat_sink *sink, const char *name, const char *value)
{
    struct scrape *sc = (struct scrape *)sink;
    size_t plen = sc->class_prefix != NULL ? strlen(sc->class_prefix) : 0;
    char *end = NULL;
    unsigned long cls = sc->class_prefix != NULL && strncmp(name, sc->class_prefix, plen) == 0
                            ? strtoul(name + plen, &end, 10) : 0;
    if (cls >= 1 && cls <= CLASS_MAX && end != NULL && *end == ':')
        scrape_class(sc, (unsigned)cls, end + 1, value);
    else
        scrape_general(sc, name, value);
}

static void scrape_print_classes(struct scrape *sc)
{
    for (unsigned f = 0; f < sc->nfields; f++) {
        char name[METRICS_NAME_MAX];
        metric_name(sc->fields[f], METRICS_CLASS_PREFIX, name, sizeof(name));
        metric_family_head(sc, name, sc->fields[f], sc->field_group[f], true);
        for (size_t i = 0; i < sc->nsamples; i++) {
            const struct class_sample *s = &sc->samples[i];
            if (s->field != f)
                continue;
            if (evbuffer_add_printf(sc->out, "%s{class=\"%u\",chunk_size=\"%s\"} %s\n", name,
                                    s->cls, sc->chunk_size[s->cls], s->value) < 0)
                sc->failed = true;
        }
    }
}

static void scrape_print_info(struct scrape *sc)
{
    if (evbuffer_get_length(sc->info) == 0)
        return;
    if (evbuffer_add_printf(sc->out, "# HELP " METRICS_PREFIX "info the text lines of `stats`\n"
                            "# TYPE " METRICS_PREFIX "info gauge\n" METRICS_PREFIX "info{") < 0 ||
        evbuffer_add_buffer(sc->out, sc->info) != 0 || evbuffer_add(sc->out, "} 1\n", 4) != 0)
        sc->failed = true;
}

/* Marks the store bucket holding each bound: the powers of two, the live chunks. */
static void metrics_size_bounds(const struct server *srv, bool *bound)
{
    const store *st = srv->store;
    uint64_t largest = srv->settings.page_size, p = METRICS_SIZE_FIRST;
    for (; p < largest; p *= 2)
        bound[store_sizes_bucket_of(p)] = true;
    bound[store_sizes_bucket_of(p)] = true;
    for (unsigned c = store_class_live_first(st); c <= store_class_count(st); c++)
        bound[store_sizes_bucket_of(store_class_chunk_size(st, c))] = true;
}

static void scrape_sizes(struct scrape *sc, const struct server *srv)
{
    struct store_sizes *h = malloc(sizeof(*h));
    bool *bound = calloc(STORE_SIZES_BUCKETS, sizeof(*bound));
    if (h == NULL || bound == NULL) {
        sc->failed = true;
        goto out;
    }
    store_sizes(srv->store, h);
    metrics_size_bounds(srv, bound);
    if (evbuffer_add_printf(sc->out, "# HELP " METRICS_SIZE_FAMILY " bytes a linked item needs"
                            " in one chunk (header, key, value)\n"
                            "# TYPE " METRICS_SIZE_FAMILY " histogram\n") < 0)
        sc->failed = true;
    uint64_t count = 0, sum = 0;
    for (unsigned b = 0; b < STORE_SIZES_BUCKETS; b++) {
        count += h->items[b];
        sum += h->bytes[b];
        if (bound[b] && evbuffer_add_printf(sc->out, METRICS_SIZE_FAMILY "_bucket{le=\"%llu\"} %llu\n",
                                            (unsigned long long)store_sizes_bucket_upper(b),
                                            (unsigned long long)count) < 0)
            sc->failed = true;
    }
    if (evbuffer_add_printf(sc->out, METRICS_SIZE_FAMILY "_bucket{le=\"+Inf\"} %llu\n"
                            METRICS_SIZE_FAMILY "_sum %llu\n" METRICS_SIZE_FAMILY "_count %llu\n",
                            (unsigned long long)count, (unsigned long long)sum,
                            (unsigned long long)count) < 0)
        sc->failed = true;
out:
    free(bound);
    free(h);
}

/* The whole exposition into out; -1 when memory ran out. */
static int metrics_scrape(struct server *srv, struct evbuffer *out)
{
    struct scrape *sc = calloc(1, sizeof(*sc));
    if (sc == NULL)
        return -1;
    sc->sink.emit = scrape_emit;
    sc->out = out;
    sc->info = evbuffer_new();
    sc->failed = sc->info == NULL;
    static const struct {
        const char *group, *class_prefix;
    } groups[] = { { "", NULL }, { "slabs", "" }, { "items", METRICS_ITEMS_PREFIX } };
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]) && !sc->failed; i++) {
        sc->group = groups[i].group;
        sc->class_prefix = groups[i].class_prefix;
        stats_group(srv, groups[i].group, &sc->sink);
    }
    if (!sc->failed) {
        scrape_print_classes(sc);
        scrape_sizes(sc, srv);
        scrape_print_info(sc);
    }
    int rc = sc->failed ? -1 : 0;
    if (sc->info != NULL)
        evbuffer_free(sc->info);
    free(sc->samples);
    free(sc);
    return rc;
}

static void metrics_serve(struct evhttp_request *req, void *arg)
{
    struct server *srv = arg;
    struct evbuffer *out = evbuffer_new();
    if (out == NULL || metrics_scrape(srv, out) != 0) {
        if (out != NULL)
            evbuffer_free(out);
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      METRICS_CONTENT_TYPE);
    evhttp_send_reply(req, HTTP_OK, "OK", out);
    evbuffer_free(out);
}

int metrics_open(struct server *srv, char *err, size_t errlen)
{
    unsigned port = (unsigned)srv->settings.metrics_port;
    if (port == 0)
        return 0;
    struct metrics *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    m->nfds = listeners_open_port(srv, port, m->fds, METRICS_SOCKETS_MAX, err, errlen);
    if (m->nfds < 0) {
        free(m);
        return -1;
    }
    srv->metrics = m;
    return 0;
}

int metrics_start(struct server *srv)
{
    struct metrics *m = srv->metrics;
    if (m == NULL)
        return 0;
    m->http = evhttp_new(srv->base);
    if (m->http == NULL)
        return -1;
    evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET);
    evhttp_set_timeout(m->http, METRICS_TIMEOUT_SECONDS);
    evhttp_set_max_headers_size(m->http, METRICS_HEADERS_MAX);
    evhttp_set_max_body_size(m->http, 0);
    if (evhttp_set_cb(m->http, METRICS_PATH, metrics_serve, srv) != 0)
        return -1;
    for (int i = 0; i < m->nfds; i++) {
        if (evhttp_accept_socket_with_handle(m->http, m->fds[i]) == NULL)
            return -1;
        m->fds[i] = -1;   /* evhttp closes it now */
    }
    return 0;
}

void metrics_close(struct server *srv)
{
    struct metrics *m = srv->metrics;
    if (m == NULL)
        return;
    if (m->http != NULL)
        evhttp_free(m->http);
    for (int i = 0; i < m->nfds; i++)
        if (m->fds[i] >= 0)
            close(m->fds[i]);
    free(m);
    srv->metrics = NULL;
}
