/*
 * test_integrity: concurrent clients against one server (-t 4 -m 64), and
 * the server must never return a wrong value nor lose an acknowledged
 * update.
 *
 * Design: IT_CLIENTS forked processes, each with its own connection, run a
 * random mix of operations for STRESS_DURATION seconds (default 20):
 *  - own keys (only that client writes them): values are self-describing
 *    (a header with key, version and length, a payload from a PRNG seeded by
 *    key and version, a trailing checksum; values under IT_HDR_MIN bytes are
 *    pure PRNG bytes), sized 10 bytes to near the 1 MB page so items move
 *    between classes. The client knows the last acknowledged version of each
 *    key, so every hit is compared byte for byte with what it must be; a
 *    miss of a key that must be present is allowed only if `stats` shows
 *    evictions (a failed set may legitimately drop the old value, as
 *    memcached does, so a miss after a SERVER_ERROR is allowed too);
 *  - shared keys written by all: `incr` (final value = sum of acknowledged
 *    deltas), a gets/cas counter (final value = number of successful cas),
 *    and two append logs of unique records (each acknowledged record exactly
 *    once in the log it went to, no unacknowledged record at all).
 * Clients reconnect now and then (about every IT_RECONNECT_EVERY ops).
 * Each client sends its tallies and the status of its append records to the
 * parent over a pipe; the parent reads the shared keys at the end and
 * checks the sums. Processes rather than threads, so the clients really run
 * in parallel with the server's worker threads and share nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/client/harness.h"
#include "t/stress/sconn.h"

#define IT_CLIENTS_DEFAULT 4
#define IT_CLIENTS_MAX 16
#define IT_DURATION_DEFAULT_S 20
#define IT_OWN_KEYS 256
#define IT_VALUE_MIN 10
#define IT_VALUE_MAX (1000 * 1000)       /* near the 1 MB page */
#define IT_SIZE_BITS 20                  /* sizes: 10 + rand % 2^(0..19) */
#define IT_HDR_MIN 64                    /* values this long carry a header */
#define IT_SUM_LEN 16                    /* hex checksum at the end */
#define IT_APPEND_MAX 4000               /* records per client */
#define IT_RECONNECT_EVERY 1000          /* ops, on average, between reconnects */
#define IT_MULTIGET 4
#define IT_INCR_DELTA_MAX 100
#define IT_REPORT_MAX 10                 /* detailed failure lines per client */
#define IT_WAIT_EXTRA_MS 60000           /* final checks after the deadline */
#define IT_MS 1000

static const char *const it_logs[] = { "sh-log0", "sh-log1" };
#define IT_NLOGS 2

enum it_append_status { IT_APP_NONE = 0, IT_APP_FAILED = 1, IT_APP_LOG0 = 2 };

struct it_own {
    uint32_t next_ver;   /* versions are never reused, acked or not */
    uint32_t ver;        /* last acknowledged */
    uint32_t len;
    bool present;        /* a hit must be exactly (ver, len) */
    bool maybe_gone;     /* a failed set may have dropped it */
};

struct it_result {
    long ops, sets, set_failed, gets, hits, misses, misses_allowed, deletes;
    long wrong, proto_errors, lost_shared;
    long incrs, cas_ok, cas_exists, appends, appends_failed;
    uint64_t incr_sum;
    bool done;
    unsigned char append_status[IT_APPEND_MAX];
};

struct it_client {
    int id;
    int port;
    uint64_t rng;
    struct sc_conn conn;
    struct it_own own[IT_OWN_KEYS];
    struct it_result res;
    char *expect;
    char *got;
    uint64_t last_incr_seen;
    uint64_t last_cas_seen;
    int reports;
};

/* ---- values ---- */

static void it_key(char *out, size_t cap, int client, int idx)
{
    snprintf(out, cap, "o%d-%d", client, idx);
}

/* Fills out with the value of key at version ver; returns its flags. */
static uint32_t it_value(char *out, size_t len, const char *key, uint32_t ver)
{
    uint64_t seed = sc_hash(key, strlen(key), ver);
    uint64_t st = seed;
    size_t pos = 0, body_end = len;
    if (len >= IT_HDR_MIN) {
        char hdr[IT_HDR_MIN];
        pos = (size_t)snprintf(hdr, sizeof(hdr), "%s v%u l%zu|", key, ver, len);
        memcpy(out, hdr, pos);
        body_end = len - IT_SUM_LEN;
    }
    while (pos < body_end) {
        uint64_t r = sc_rand(&st);
        size_t n = body_end - pos < sizeof(r) ? body_end - pos : sizeof(r);
        memcpy(out + pos, &r, n);
        pos += n;
    }
    if (len >= IT_HDR_MIN) {
        char sum[IT_SUM_LEN + 1];
        snprintf(sum, sizeof(sum), "%016" PRIx64, sc_hash(out, body_end, 0));
        memcpy(out + body_end, sum, IT_SUM_LEN);
    }
    return (uint32_t)(seed >> 32);
}

/* Describes a wrong value: its header (if any), checksum state, first diff. */
static void it_describe(const char *got, size_t glen, const char *exp, size_t elen,
                        char *out, size_t cap)
{
    size_t diff = 0;
    while (diff < glen && diff < elen && got[diff] == exp[diff])
        diff++;
    char hdr[IT_HDR_MIN] = "(none)";
    bool sum_ok = false;
    if (glen >= IT_HDR_MIN) {
        size_t n = strcspn(got, "|");
        n = n < sizeof(hdr) - 1 ? n : sizeof(hdr) - 1;
        memcpy(hdr, got, n);
        hdr[n] = '\0';
        char sum[IT_SUM_LEN + 1];
        snprintf(sum, sizeof(sum), "%016" PRIx64, sc_hash(got, glen - IT_SUM_LEN, 0));
        sum_ok = memcmp(sum, got + glen - IT_SUM_LEN, IT_SUM_LEN) == 0;
    }
    snprintf(out, cap, "got %zu bytes (header \"%s\", checksum %s), expected %zu bytes, "
             "first difference at byte %zu", glen, hdr, sum_ok ? "valid" : "invalid",
             elen, diff);
}

static void it_report(struct it_client *c, const char *fmt, const char *a, const char *b)
{
    if (c->reports++ >= IT_REPORT_MAX)
        return;
    printf("client %d: ", c->id);
    printf(fmt, a, b);
    printf("\n");
    fflush(stdout);
}

static size_t it_pick_size(struct it_client *c)
{
    unsigned bits = (unsigned)(sc_rand(&c->rng) % IT_SIZE_BITS);
    size_t len = IT_VALUE_MIN + sc_rand(&c->rng) % (1ULL << bits);
    return len > IT_VALUE_MAX ? IT_VALUE_MAX : len;
}

/* ---- own keys ---- */

static void it_set(struct it_client *c, int idx)
{
    char key[32], hdr[96], line[SC_LINE_MAX];
    struct it_own *o = &c->own[idx];
    uint32_t ver = ++o->next_ver;
    size_t len = it_pick_size(c);
    it_key(key, sizeof(key), c->id, idx);
    uint32_t flags = it_value(c->expect, len, key, ver);
    int hl = snprintf(hdr, sizeof(hdr), "set %s %u 0 %zu\r\n", key, flags, len);
    memcpy(c->expect + len, "\r\n", 2);
    c->res.sets++;
    if (!sc_write(&c->conn, hdr, (size_t)hl) || !sc_write(&c->conn, c->expect, len + 2) ||
        sc_line(&c->conn, line, sizeof(line)) < 0) {
        c->res.proto_errors++;
        it_report(c, "set %s: no reply%s", key, "");
        return;
    }
    if (strcmp(line, "STORED") == 0) {
        o->ver = ver;
        o->len = (uint32_t)len;
        o->present = true;
        o->maybe_gone = false;
    } else if (strncmp(line, "SERVER_ERROR ", strlen("SERVER_ERROR ")) == 0) {
        c->res.set_failed++;
        o->maybe_gone = true;
    } else {
        c->res.proto_errors++;
        it_report(c, "set %s: unexpected reply \"%s\"", key, line);
    }
}

static void it_delete(struct it_client *c, int idx)
{
    char key[32], req[64], line[SC_LINE_MAX];
    struct it_own *o = &c->own[idx];
    it_key(key, sizeof(key), c->id, idx);
    int rl = snprintf(req, sizeof(req), "delete %s\r\n", key);
    c->res.deletes++;
    if (!sc_write(&c->conn, req, (size_t)rl) || sc_line(&c->conn, line, sizeof(line)) < 0) {
        c->res.proto_errors++;
        it_report(c, "delete %s: no reply%s", key, "");
        return;
    }
    bool deleted = strcmp(line, "DELETED") == 0;
    if (!deleted && strcmp(line, "NOT_FOUND") != 0) {
        c->res.proto_errors++;
        it_report(c, "delete %s: unexpected reply \"%s\"", key, line);
        return;
    }
    if (deleted && !o->present && !o->maybe_gone) {
        c->res.wrong++;
        it_report(c, "delete %s: DELETED a key that must be absent%s", key, "");
    }
    if (!deleted && o->present && !o->maybe_gone)
        c->res.misses++;   /* judged against evictions at the end */
    o->present = false;
    o->maybe_gone = false;
}

/* Judges one VALUE block (already read into c->got) of own key idx. */
static void it_judge_hit(struct it_client *c, int idx, uint32_t flags, size_t len)
{
    char key[32], why[512];
    struct it_own *o = &c->own[idx];
    it_key(key, sizeof(key), c->id, idx);
    c->res.hits++;
    if (!o->present) {
        c->res.wrong++;
        it_describe(c->got, len, "", 0, why, sizeof(why));
        it_report(c, "get %s: hit on a key that must be absent: %s", key, why);
        return;
    }
    uint32_t eflags = it_value(c->expect, o->len, key, o->ver);
    if (len != o->len || flags != eflags || memcmp(c->got, c->expect, len) != 0) {
        c->res.wrong++;
        it_describe(c->got, len, c->expect, o->len, why, sizeof(why));
        char what[640];
        snprintf(what, sizeof(what), "version %u flags %u/%u: %s", o->ver, flags, eflags, why);
        it_report(c, "get %s: wrong value, %s", key, what);
    }
}

static void it_judge_miss(struct it_client *c, int idx)
{
    struct it_own *o = &c->own[idx];
    if (!o->present)
        return;
    if (o->maybe_gone)
        c->res.misses_allowed++;
    else
        c->res.misses++;
}

/* Finds which requested index a returned key is, at or after *next. */
static int it_match_key(struct it_client *c, const char *key, const int *idx, int n, int *next)
{
    char want[32];
    for (int i = *next; i < n; i++) {
        it_key(want, sizeof(want), c->id, idx[i]);
        if (strcmp(want, key) == 0) {
            *next = i + 1;
            return i;
        }
    }
    return -1;
}

/* Reads one VALUE line's fields; false (and reports) if malformed. */
static bool it_parse_value_line(struct it_client *c, const char *line, char *key,
                                uint32_t *flags, size_t *len)
{
    unsigned long fl;
    unsigned long long ln;
    if (sscanf(line, "VALUE %31s %lu %llu", key, &fl, &ln) != 3 || ln > IT_VALUE_MAX) {
        c->res.proto_errors++;
        it_report(c, "get: unexpected reply line \"%s\"%s", line, "");
        return false;
    }
    *flags = (uint32_t)fl;
    *len = (size_t)ln;
    return true;
}

/* get of n own keys (idx in increasing position order), judged one by one. */
static bool it_get(struct it_client *c, const int *idx, int n)
{
    char req[512], line[SC_LINE_MAX], key[32], crlf[2];
    int rl = snprintf(req, sizeof(req), "get");
    for (int i = 0; i < n; i++) {
        it_key(key, sizeof(key), c->id, idx[i]);
        rl += snprintf(req + rl, sizeof(req) - (size_t)rl, " %s", key);
    }
    rl += snprintf(req + rl, sizeof(req) - (size_t)rl, "\r\n");
    c->res.gets += n;
    if (!sc_write(&c->conn, req, (size_t)rl))
        goto broken;
    bool seen[IT_MULTIGET] = { false };
    int next = 0;
    for (;;) {
        if (sc_line(&c->conn, line, sizeof(line)) < 0)
            goto broken;
        if (strcmp(line, "END") == 0)
            break;
        uint32_t flags;
        size_t len;
        if (!it_parse_value_line(c, line, key, &flags, &len))
            return false;
        int pos = it_match_key(c, key, idx, n, &next);
        if (pos < 0) {
            c->res.wrong++;
            it_report(c, "get: returned key %s not requested (or out of order) in \"%s\"",
                      key, req);
            return false;
        }
        if (!sc_exact(&c->conn, c->got, len) || !sc_exact(&c->conn, crlf, 2))
            goto broken;
        if (memcmp(crlf, "\r\n", 2) != 0) {
            c->res.proto_errors++;
            it_report(c, "get %s: value not followed by CRLF%s", key, "");
            return false;
        }
        seen[pos] = true;
        it_judge_hit(c, idx[pos], flags, len);
    }
    for (int i = 0; i < n; i++)
        if (!seen[i])
            it_judge_miss(c, idx[i]);
    return true;
broken:
    c->res.proto_errors++;
    it_report(c, "get: connection broken or reply timed out after \"%s\"%s", req, "");
    return false;
}

/* ---- shared keys ---- */

static void it_incr(struct it_client *c)
{
    char req[64], line[SC_LINE_MAX];
    unsigned delta = 1 + (unsigned)(sc_rand(&c->rng) % IT_INCR_DELTA_MAX);
    int rl = snprintf(req, sizeof(req), "incr sh-incr %u\r\n", delta);
    c->res.incrs++;
    if (!sc_write(&c->conn, req, (size_t)rl) || sc_line(&c->conn, line, sizeof(line)) < 0) {
        c->res.proto_errors++;
        it_report(c, "incr: no reply%s%s", "", "");
        return;
    }
    char *end;
    unsigned long long v = strtoull(line, &end, 10);
    if (line[0] == '\0' || *end != '\0') {
        bool nf = strcmp(line, "NOT_FOUND") == 0;
        c->res.lost_shared += nf;
        c->res.proto_errors += !nf;
        it_report(c, "incr sh-incr: reply \"%s\"%s", line, "");
        return;
    }
    c->res.incr_sum += delta;
    if (v < c->last_incr_seen + delta) {
        c->res.wrong++;
        char what[96];
        snprintf(what, sizeof(what), "%llu after %" PRIu64 " + %u", v, c->last_incr_seen, delta);
        it_report(c, "incr sh-incr: went backwards: %s%s", what, "");
    }
    c->last_incr_seen = v;
}

/* One gets/cas attempt on the shared counter. */
static void it_cas(struct it_client *c)
{
    char line[SC_LINE_MAX], key[32], val[32], req[128];
    unsigned long fl;
    unsigned long long len, unique;
    if (!sc_write(&c->conn, "gets sh-cas\r\n", strlen("gets sh-cas\r\n")) ||
        sc_line(&c->conn, line, sizeof(line)) < 0)
        goto broken;
    if (sscanf(line, "VALUE %31s %lu %llu %llu", key, &fl, &len, &unique) != 4 ||
        len >= sizeof(val)) {
        bool miss = strcmp(line, "END") == 0;
        c->res.lost_shared += miss;
        c->res.proto_errors += !miss;
        it_report(c, "gets sh-cas: reply \"%s\"%s", line, "");
        return;
    }
    if (!sc_exact(&c->conn, val, len + 2) || sc_line(&c->conn, line, sizeof(line)) < 0)
        goto broken;
    val[len] = '\0';
    unsigned long long cur = strtoull(val, NULL, 10);
    char next[32];
    int nl = snprintf(next, sizeof(next), "%llu", cur + 1);
    int rl = snprintf(req, sizeof(req), "cas sh-cas 0 0 %d %llu\r\n%s\r\n", nl, unique, next);
    if (!sc_write(&c->conn, req, (size_t)rl) || sc_line(&c->conn, line, sizeof(line)) < 0)
        goto broken;
    if (strcmp(line, "STORED") == 0) {
        c->res.cas_ok++;
        if (cur < c->last_cas_seen) {
            c->res.wrong++;
            it_report(c, "cas sh-cas: read %s, below a value seen before%s", val, "");
        }
        c->last_cas_seen = cur + 1;
    } else if (strcmp(line, "EXISTS") == 0) {
        c->res.cas_exists++;
    } else {
        bool nf = strcmp(line, "NOT_FOUND") == 0;
        c->res.lost_shared += nf;
        c->res.proto_errors += !nf;
        it_report(c, "cas sh-cas: reply \"%s\"%s", line, "");
    }
    return;
broken:
    c->res.proto_errors++;
    it_report(c, "gets/cas sh-cas: connection broken or timed out%s%s", "", "");
}

static void it_append(struct it_client *c)
{
    char req[128], rec[32], line[SC_LINE_MAX];
    long seq = c->res.appends;
    if (seq >= IT_APPEND_MAX)
        return;
    int log = (int)(sc_rand(&c->rng) % IT_NLOGS);
    int n = snprintf(rec, sizeof(rec), "c%d.%ld;", c->id, seq);
    int rl = snprintf(req, sizeof(req), "append %s 0 0 %d\r\n%s\r\n", it_logs[log], n, rec);
    c->res.appends++;
    if (!sc_write(&c->conn, req, (size_t)rl) || sc_line(&c->conn, line, sizeof(line)) < 0) {
        c->res.proto_errors++;
        it_report(c, "append: no reply%s%s", "", "");
        return;
    }
    if (strcmp(line, "STORED") == 0) {
        c->res.append_status[seq] = (unsigned char)(IT_APP_LOG0 + log);
        return;
    }
    c->res.append_status[seq] = IT_APP_FAILED;
    c->res.appends_failed++;
    bool nf = strcmp(line, "NOT_STORED") == 0;
    bool oom = strncmp(line, "SERVER_ERROR ", strlen("SERVER_ERROR ")) == 0;
    c->res.lost_shared += nf;
    c->res.proto_errors += !nf && !oom;
    if (!oom)
        it_report(c, "append %s: reply \"%s\"", it_logs[log], line);
}

/* ---- the client process ---- */

/* A new connection now and then, so the server hands clients between workers. */
static void it_reconnect(struct it_client *c)
{
    sc_close(&c->conn);
    if (!sc_open(&c->conn, c->port)) {
        c->res.proto_errors++;
        it_report(c, "reconnect failed%s%s", "", "");
    }
}

static void it_step(struct it_client *c)
{
    if (sc_rand(&c->rng) % IT_RECONNECT_EVERY == 0)
        it_reconnect(c);
    unsigned r = (unsigned)(sc_rand(&c->rng) % 100);
    int idx = (int)(sc_rand(&c->rng) % IT_OWN_KEYS);
    c->res.ops++;
    if (r < 40) {
        it_set(c, idx);
    } else if (r < 72) {
        it_get(c, &idx, 1);
    } else if (r < 78) {
        int keys[IT_MULTIGET];
        int first = idx > IT_OWN_KEYS - IT_MULTIGET ? IT_OWN_KEYS - IT_MULTIGET : idx;
        for (int i = 0; i < IT_MULTIGET; i++)
            keys[i] = first + i;
        it_get(c, keys, IT_MULTIGET);
    } else if (r < 82) {
        it_delete(c, idx);
    } else if (r < 90) {
        it_incr(c);
    } else if (r < 97) {
        it_cas(c);
    } else {
        it_append(c);
    }
}

static int it_client_main(int id, int port, long duration_ms, int wfd)
{
    static struct it_client c;
    memset(&c, 0, sizeof(c));
    c.id = id;
    c.port = port;
    c.rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(id + 1);
    c.expect = malloc(IT_VALUE_MAX + 2);
    c.got = malloc(IT_VALUE_MAX + 2);
    if (c.expect == NULL || c.got == NULL || !sc_open(&c.conn, port))
        return 2;
    long long deadline = sc_now_ms() + duration_ms;
    while (sc_now_ms() < deadline && c.res.proto_errors == 0)
        it_step(&c);
    /* Final pass: every own key must read back as last acknowledged. */
    for (int i = 0; i < IT_OWN_KEYS && c.res.proto_errors == 0; i++)
        it_get(&c, &i, 1);
    c.res.done = true;
    sc_close(&c.conn);
    const char *p = (const char *)&c.res;
    size_t left = sizeof(c.res);
    while (left > 0) {
        ssize_t w = write(wfd, p, left);
        if (w <= 0 && errno != EINTR)
            return 2;
        if (w > 0) {
            p += w;
            left -= (size_t)w;
        }
    }
    return 0;
}

/* ---- the parent ---- */

static bool it_set_shared(int port, const char *key, const char *val)
{
    struct sc_conn c;
    char req[128], line[SC_LINE_MAX];
    if (!sc_open(&c, port))
        return false;
    int rl = snprintf(req, sizeof(req), "set %s 0 0 %zu\r\n%s\r\n", key, strlen(val), val);
    bool ok = sc_write(&c, req, (size_t)rl) && sc_line(&c, line, sizeof(line)) >= 0 &&
              strcmp(line, "STORED") == 0;
    sc_close(&c);
    return ok;
}

/* Reads a shared key into a malloc'd NUL-terminated string; NULL on a miss. */
static char *it_get_shared(int port, const char *key)
{
    struct sc_conn c;
    char req[128], line[SC_LINE_MAX], k[64];
    unsigned long fl;
    unsigned long long len;
    char *val = NULL;
    if (!sc_open(&c, port))
        return NULL;
    int rl = snprintf(req, sizeof(req), "get %s\r\n", key);
    if (sc_write(&c, req, (size_t)rl) && sc_line(&c, line, sizeof(line)) >= 0 &&
        sscanf(line, "VALUE %63s %lu %llu", k, &fl, &len) == 3 &&
        (val = malloc(len + 3)) != NULL && sc_exact(&c, val, len + 2))
        val[len] = '\0';
    else {
        free(val);
        val = NULL;
    }
    sc_close(&c);
    return val;
}

static void it_sum(struct it_result *tot, const struct it_result *r)
{
    tot->ops += r->ops; tot->sets += r->sets; tot->set_failed += r->set_failed;
    tot->gets += r->gets; tot->hits += r->hits; tot->misses += r->misses;
    tot->misses_allowed += r->misses_allowed; tot->deletes += r->deletes;
    tot->wrong += r->wrong; tot->proto_errors += r->proto_errors;
    tot->lost_shared += r->lost_shared; tot->incrs += r->incrs;
    tot->cas_ok += r->cas_ok; tot->cas_exists += r->cas_exists;
    tot->appends += r->appends; tot->appends_failed += r->appends_failed;
    tot->incr_sum += r->incr_sum;
}

/* Counts each record of the logs; returns how many records were wrong. */
static long it_check_logs(int port, int nclients, const struct it_result *res)
{
    static unsigned short seen[IT_NLOGS][IT_CLIENTS_MAX][IT_APPEND_MAX];
    long bad = 0, reported = 0;
    memset(seen, 0, sizeof(seen));
    for (int l = 0; l < IT_NLOGS; l++) {
        char *log = it_get_shared(port, it_logs[l]);
        if (log == NULL) {
            printf("log %s: missing at the end\n", it_logs[l]);
            bad++;
            continue;
        }
        for (char *tok = strtok(log, ";"); tok != NULL; tok = strtok(NULL, ";")) {
            int cl;
            long seq;
            char tail;
            if (sscanf(tok, "c%d.%ld%c", &cl, &seq, &tail) != 2 || cl < 0 ||
                cl >= nclients || seq < 0 || seq >= IT_APPEND_MAX) {
                if (reported++ < IT_REPORT_MAX)
                    printf("log %s: garbage record \"%.40s\"\n", it_logs[l], tok);
                bad++;
                continue;
            }
            seen[l][cl][seq]++;
        }
        free(log);
    }
    for (int cl = 0; cl < nclients; cl++) {
        for (long s = 0; s < res[cl].appends; s++) {
            int st = res[cl].append_status[s];
            for (int l = 0; l < IT_NLOGS; l++) {
                int want = st == IT_APP_LOG0 + l ? 1 : 0;
                if (seen[l][cl][s] != want) {
                    bad++;
                    if (reported++ < IT_REPORT_MAX)
                        printf("log %s: record c%d.%ld appears %d times, expected %d\n",
                               it_logs[l], cl, s, seen[l][cl][s], want);
                }
            }
        }
    }
    return bad;
}

/* Waits for the clients with a bound; kills the late ones. */
static int it_wait_clients(const pid_t *pids, int n, long long deadline)
{
    int ok = 0;
    for (int i = 0; i < n; i++) {
        int st = 0;
        while (waitpid(pids[i], &st, WNOHANG) == 0) {
            if (sc_now_ms() > deadline) {
                kill(pids[i], SIGKILL);
                waitpid(pids[i], &st, 0);
                printf("client %d: killed after the deadline\n", i);
                break;
            }
            sc_sleep_ms(50);
        }
        ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    return ok;
}

static bool it_read_result(int fd, struct it_result *r)
{
    char *p = (char *)r;
    size_t left = sizeof(*r);
    while (left > 0) {
        ssize_t n = read(fd, p, left);
        if (n <= 0)
            return false;
        p += n;
        left -= (size_t)n;
    }
    return r->done;
}

static void it_check_shared(struct sc_tally *t, int port, const struct it_result *tot)
{
    char *v = it_get_shared(port, "sh-incr");
    unsigned long long incr = v ? strtoull(v, NULL, 10) : 0;
    sc_check(t, v != NULL && incr == tot->incr_sum,
             "sh-incr = %s, sum of %ld acknowledged incrs = %" PRIu64,
             v ? v : "(miss)", tot->incrs, tot->incr_sum);
    free(v);
    v = it_get_shared(port, "sh-cas");
    unsigned long long cas = v ? strtoull(v, NULL, 10) : 0;
    sc_check(t, v != NULL && cas == (unsigned long long)tot->cas_ok,
             "sh-cas = %s, successful cas = %ld (EXISTS %ld)", v ? v : "(miss)",
             tot->cas_ok, tot->cas_exists);
    free(v);
}

int main(void)
{
    struct sc_tally t = { 0, 0 };
    int nclients = (int)sc_env_long("STRESS_CLIENTS", IT_CLIENTS_DEFAULT);
    long duration_ms = sc_env_long("STRESS_DURATION", IT_DURATION_DEFAULT_S) * IT_MS;
    struct h_server srv = { 0 };
    const char *const flags[] = { "-t", "4", "-m", "64", NULL };
    static struct it_result res[IT_CLIENTS_MAX];
    struct it_result tot;
    pid_t pids[IT_CLIENTS_MAX];
    int pipes[IT_CLIENTS_MAX][2];

    nclients = nclients > IT_CLIENTS_MAX ? IT_CLIENTS_MAX : nclients;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("server %s, %d clients, %ld s\n", h_server_bin(), nclients, duration_ms / IT_MS);
    srv.keep_stderr = true;
    if (!h_server_start(&srv, flags)) {
        sc_check(&t, false, "server starts with -t 4 -m 64");
        return sc_summary(&t);
    }
    bool init = it_set_shared(srv.port, "sh-incr", "0") && it_set_shared(srv.port, "sh-cas", "0") &&
                it_set_shared(srv.port, it_logs[0], "") && it_set_shared(srv.port, it_logs[1], "");
    sc_check(&t, init, "shared keys initialised");
    fflush(stdout);
    for (int i = 0; i < nclients; i++) {
        if (pipe(pipes[i]) != 0)
            return 2;
        pids[i] = fork();
        if (pids[i] == 0) {
            close(pipes[i][0]);
            _exit(it_client_main(i, srv.port, duration_ms, pipes[i][1]));
        }
        close(pipes[i][1]);
    }
    int exited = it_wait_clients(pids, nclients, sc_now_ms() + duration_ms + IT_WAIT_EXTRA_MS);
    sc_check(&t, exited == nclients, "%d of %d clients finished cleanly", exited, nclients);
    memset(&tot, 0, sizeof(tot));
    int reported = 0;
    for (int i = 0; i < nclients; i++) {
        reported += it_read_result(pipes[i][0], &res[i]);
        close(pipes[i][0]);
        it_sum(&tot, &res[i]);
    }
    sc_check(&t, reported == nclients, "%d of %d clients reported", reported, nclients);
    sc_check(&t, kill(srv.pid, 0) == 0, "server still running after the load");

    long long evictions = sc_stat(srv.port, "evictions");
    sc_check(&t, tot.wrong == 0, "wrong values: %ld", tot.wrong);
    sc_check(&t, tot.proto_errors == 0, "protocol errors / broken connections: %ld",
             tot.proto_errors);
    sc_check(&t, tot.misses == 0 || evictions > 0,
             "misses of keys that must be present: %ld, evictions: %lld",
             tot.misses, evictions);
    sc_check(&t, tot.lost_shared == 0, "shared keys found missing during the run: %ld",
             tot.lost_shared);
    it_check_shared(&t, srv.port, &tot);
    long bad = it_check_logs(srv.port, nclients, res);
    sc_check(&t, bad == 0, "append logs: %ld records acknowledged (%ld failed), %ld wrong",
             tot.appends - tot.appends_failed, tot.appends_failed, bad);
    printf("figures: ops %ld (sets %ld, set failures %ld, gets %ld, deletes %ld, incrs %ld, "
           "cas ok %ld, cas exists %ld, appends %ld)\n", tot.ops, tot.sets, tot.set_failed,
           tot.gets, tot.deletes, tot.incrs, tot.cas_ok, tot.cas_exists, tot.appends);
    printf("figures: hits %ld, misses %ld (after failed sets %ld), evictions %lld, "
           "ops/s %ld\n", tot.hits, tot.misses, tot.misses_allowed, evictions,
           tot.ops * IT_MS / (duration_ms > 0 ? duration_ms : 1));
    srv.keep_stderr = t.failed > 0;
    h_server_stop(&srv);
    if (t.failed > 0)
        printf("server stderr kept in %s\n", srv.stderr_path);
    return sc_summary(&t);
}
