/*
 * test_batch: pipelined gets against a running server, the path of
 * protocol/batch.c (keys of the gets queued in the read buffer hashed and
 * prefetched ahead of their lookups). A drop-in suite: memcached 1.6.45
 * must give the same bytes.
 *
 * Each test stores a few keys, then sends one long pipeline in a single
 * write: single and multi-key gets, hits and misses, sets and deletes
 * between gets (later gets must see them), runs of spaces, a bare "\n", a
 * line of more keys than a batch holds. (A key too long is left out: in a
 * pipeline memcached drops the replies queued before its error, slabcache
 * only the failing get's; check_batch covers it on slabcache alone.) The expected reply is
 * built from a model of the keys as the pipeline is built. The same
 * pipeline runs with the default -R and with -R 3, so connection turns end
 * in the middle of batches.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define BATCH_KEYS 24          /* keys b:0 .. b:23 may exist */
#define BATCH_STORED 16        /* b:0 .. b:15 are stored first */
#define BATCH_ROUNDS 6         /* the mixed block, repeated */
#define BATCH_WIDE 40          /* keys on the wide line: more than a batch */
#define BATCH_VALUE_MAX 32
#define BATCH_BUF (64 * 1024)
#define BATCH_TIMEOUT_S 30

struct h_server hc_srv;

/* The model: each key's value ("" = absent) and flags. */
struct model {
    char value[BATCH_KEYS][BATCH_VALUE_MAX];
    unsigned flags[BATCH_KEYS];
};

struct text {
    char *p;
    size_t len;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p + t->len, BATCH_BUF - t->len, fmt, ap);
    va_end(ap);
    ck_assert(n >= 0 && t->len + (size_t)n < BATCH_BUF);
    t->len += (size_t)n;
}

static void model_set(struct model *m, struct text *req, struct text *exp, int k,
                      unsigned flags, const char *value)
{
    add(req, "set b:%d %u 0 %zu\r\n%s\r\n", k, flags, strlen(value), value);
    add(exp, "STORED\r\n");
    snprintf(m->value[k], BATCH_VALUE_MAX, "%s", value);
    m->flags[k] = flags;
}

static void model_hit(const struct model *m, struct text *exp, int k)
{
    if (m->value[k][0] != '\0')
        add(exp, "VALUE b:%d %u %zu\r\n%s\r\n", k, m->flags[k], strlen(m->value[k]),
            m->value[k]);
}

/* "get" with the keys given, separated by `sep` spaces. */
static void model_get(const struct model *m, struct text *req, struct text *exp,
                      const int *keys, int n, int sep)
{
    add(req, "get");
    for (int i = 0; i < n; i++) {
        add(req, "%*s", sep, "");
        add(req, "b:%d", keys[i]);
        model_hit(m, exp, keys[i]);
    }
    add(req, "\r\n");
    add(exp, "END\r\n");
}

/* Builds the pipeline and its expected reply; stores b:0..15 first. */
static void build(struct text *req, struct text *exp)
{
    static struct model m;
    memset(&m, 0, sizeof m);
    char v[BATCH_VALUE_MAX];
    for (int k = 0; k < BATCH_STORED; k++) {
        snprintf(v, sizeof v, "value-%d", k);
        model_set(&m, req, exp, k, (unsigned)k * 7, v);
    }
    for (int r = 0; r < BATCH_ROUNDS; r++) {
        for (int k = 0; k < BATCH_KEYS; k++)
            model_get(&m, req, exp, &k, 1, 1);              /* hits and misses */
        int multi[] = { r, 20, r + 1, r + 2, 23 };
        model_get(&m, req, exp, multi, 5, 1 + r % 3);         /* runs of spaces */
        snprintf(v, sizeof v, "round-%d", r);
        model_set(&m, req, exp, r + 16, 3, v);               /* a miss becomes a hit */
        model_get(&m, req, exp, (int[]){ r + 16 }, 1, 1);
        add(req, "delete b:%d\r\n", r);
        add(exp, "DELETED\r\n");
        m.value[r][0] = '\0';
        model_get(&m, req, exp, (int[]){ r }, 1, 1);         /* gone */
        add(req, "get b:%d\n", r + 8);                      /* a bare \n */
        model_hit(&m, exp, r + 8);
        add(exp, "END\r\n");
    }
    int wide[BATCH_WIDE];
    for (int i = 0; i < BATCH_WIDE; i++)
        wide[i] = i % BATCH_KEYS;
    model_get(&m, req, exp, wide, BATCH_WIDE, 1);
    for (int k = 0; k < BATCH_KEYS; k++)
        model_get(&m, req, exp, &k, 1, 1);
}

/* Fails with the first differing offset and a little of each side (the
 * whole replies are too long for a Check message). */
static void same_bytes(const char *got, size_t got_len, const char *exp, size_t exp_len)
{
    size_t i = 0;
    while (i < got_len && i < exp_len && got[i] == exp[i])
        i++;
    ck_assert_msg(i == got_len && i == exp_len,
                  "replies differ at byte %zu of %zu (got %zu): got \"%.60s\" want \"%.60s\"",
                  i, exp_len, got_len, got + i, exp + i);
}

static void pipeline_exact(void)
{
    static char reqb[BATCH_BUF], expb[BATCH_BUF], gotb[BATCH_BUF + 1];
    struct text req = { reqb, 0 }, exp = { expb, 0 };
    build(&req, &exp);
    int fd = hc_conn();
    ck_assert(h_send(fd, req.p, req.len));
    size_t got = h_read_n(fd, gotb, exp.len, H_IO_TIMEOUT_MS);
    got += h_read_extra(fd, gotb + got, sizeof gotb - got, H_EXTRA_WAIT_MS);
    same_bytes(gotb, got, exp.p, exp.len);
    HC_USABLE(fd);
    close(fd);
    h_server_stop(&hc_srv);
}

START_TEST(pipeline_default_turns)
{
    HC_START(NULL);
    pipeline_exact();
}
END_TEST

START_TEST(pipeline_short_turns)
{
    HC_START("-R", "3", NULL);
    pipeline_exact();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("pipelined gets");
    tcase_set_timeout(tc, BATCH_TIMEOUT_S);
    tcase_add_test(tc, pipeline_default_turns);
    tcase_add_test(tc, pipeline_short_turns);
    suite_add_tcase(s, tc);
    return hc_run_suite(s);
}
