/*
 * fixture_proto: the protocol part of the unit suites' shared fixture
 * (fixture_proto.h). Links against protocol/, slabs/ and common/.
 */
#include "t/unit/fixture_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

#define FX_IOV_BATCH 64

store *st;
struct proto_env env;
struct proto_counters *ctr;
struct proto_conn pc;
struct reply *out;
enum proto_action last_action;
size_t last_need;
char got[FX_GOT_MAX];
size_t got_len;
int verbosity_calls, verbosity_level, stats_calls, reset_calls;
char stats_group[FX_STATS_GROUP_MAX];

static size_t got_cap;

/* Knows "" and "slabs"; any other group writes a line, then says unknown. */
static bool fake_stats(void *arg, const char *group, struct stat_sink *sink)
{
    (void)arg;
    stats_calls++;
    snprintf(stats_group, sizeof(stats_group), "%s", group);
    if (strcmp(group, "") == 0) {
        sink->emit(sink, "pid", "42");
        sink->emit(sink, "uptime", "7");
        return true;
    }
    if (strcmp(group, "slabs") == 0) {
        sink->emit(sink, "1:chunk_size", "96");
        return true;
    }
    sink->emit(sink, "half", "written");    /* must not reach the client */
    return false;
}

static void fake_reset(void *arg)
{
    (void)arg;
    reset_calls++;
}

static void fake_verbosity(void *arg, int level)
{
    (void)arg;
    verbosity_calls++;
    verbosity_level = level;
}

void fx_proto_setup(size_t cap, bool recorded_callbacks)
{
    ck_assert_uint_le(cap, FX_GOT_MAX);
    got_cap = cap;
    clock_init();
    st = fx_store_sized(FX_MEM_LIMIT);
    memset(&env, 0, sizeof(env));
    env.store = st;
    if (recorded_callbacks) {
        env.stats = fake_stats;
        env.stats_reset = fake_reset;
        env.set_verbosity = fake_verbosity;
    }
    ctr = calloc(1, sizeof(*ctr));
    proto_conn_init(&pc, &env, ctr);
    out = reply_new(st);
    verbosity_calls = verbosity_level = stats_calls = reset_calls = 0;
    stats_group[0] = '\0';
    got_len = 0;
}

void fx_proto_teardown(void)
{
    proto_conn_reset(&pc);
    reply_free(out);
    free(ctr);
    store_destroy(st);
}

void fx_drain(void)
{
    struct iovec iov[FX_IOV_BATCH];
    int n;
    while ((n = reply_iov(out, iov, FX_IOV_BATCH)) > 0) {
        size_t sum = 0;
        for (int i = 0; i < n; i++) {
            ck_assert_uint_lt(got_len + iov[i].iov_len, got_cap);
            memcpy(got + got_len, iov[i].iov_base, iov[i].iov_len);
            got_len += iov[i].iov_len;
            sum += iov[i].iov_len;
        }
        reply_consumed(out, sum);
    }
    got[got_len] = '\0';
}

size_t fx_run_n(const char *in, size_t len)
{
    size_t off = 0;
    got_len = 0;
    last_action = PROTO_CONTINUE;
    while (off < len) {
        size_t n = proto_process(&pc, in + off, len - off, out, &last_action, &last_need);
        off += n;
        if (n == 0 || last_action != PROTO_CONTINUE)
            break;
    }
    fx_drain();
    return off;
}

size_t fx_run(const char *in)
{
    return fx_run_n(in, strlen(in));
}
