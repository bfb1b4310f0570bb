/*
 * test_cluster: three servers scaled out as memcached is, with existing
 * engines in front: twemproxy (Debian's nutcracker) and libmemcached's
 * client-side consistent hashing (ketama).
 *
 * Each case starts three servers, spreads CL_KEYS keys through the front,
 * asks every server directly (multi-gets of all keys) that each key is on
 * exactly one of them and that every server got a share, reads every key
 * back through the front, then stops one server: the front ejects it (the
 * nutcracker pool's auto_eject_hosts with server_failure_limit 1;
 * libmemcached's REMOVE_FAILED_SERVERS) and every key of the two others
 * still reads back, while the stopped server's keys are misses that can be
 * set again. The spread per server is printed (doc/scaling.md quotes it).
 *
 * nutcracker is found on PATH; without it that case says so and is left
 * out (./dev installs it). Bounds: nutcracker must accept within
 * CL_START_MS; the front gets CL_EJECT_TRIES requests to eject the stopped
 * server; libmemcached and nutcracker time out server requests after
 * CL_IO_TIMEOUT_MS. The whole suite runs in seconds.
 */
#include <libmemcached/memcached.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define CL_TIMEOUT_S 120
#define CL_SERVERS 3
#define CL_KEYS 10000
#define CL_KEY_MAX 32
#define CL_VALUE_MAX 48
#define CL_PATH_MAX 256
#define CL_DIR_MAX 64
#define CL_MGET_BATCH 100     /* keys per multi-get, as a client would batch */
_Static_assert(CL_KEYS % CL_MGET_BATCH == 0, "whole batches");
#define CL_CONF_MAX 1024
#define CL_START_MS 5000
#define CL_STEP_MS 20
#define CL_IO_TIMEOUT_MS 1000
#define CL_EJECT_TRIES 50
#define CL_STOPPED 1          /* index of the server the cases stop */

struct cluster {
    struct h_server srv[CL_SERVERS];
    int owner[CL_KEYS];         /* index of the server holding key i, -1: none */
    unsigned spread[CL_SERVERS];
};

static struct cluster cl;

static void cl_key(unsigned i, char *key)
{
    snprintf(key, CL_KEY_MAX, "cluster:key:%u", i);
}

static void cl_value(unsigned i, char *value)
{
    snprintf(value, CL_VALUE_MAX, "value-of-%u", i);
}

static void cl_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void cl_start_servers(void)
{
    for (int i = 0; i < CL_SERVERS; i++)
        ck_assert(h_server_start(&cl.srv[i], NULL));
}

static void cl_stop_servers(void)
{
    for (int i = 0; i < CL_SERVERS; i++)
        if (cl.srv[i].pid > 0)
            h_server_stop(&cl.srv[i]);
}

static memcached_st *cl_client(void)
{
    memcached_st *mc = memcached_create(NULL);
    ck_assert_ptr_nonnull(mc);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, CL_IO_TIMEOUT_MS);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, CL_IO_TIMEOUT_MS);
    return mc;
}

/* A client of one server: the way to ask it alone. */
static memcached_st *cl_direct(int port)
{
    memcached_st *mc = cl_client();
    ck_assert_int_eq(memcached_server_add(mc, "127.0.0.1", (in_port_t)port), MEMCACHED_SUCCESS);
    return mc;
}

typedef void cl_found_fn(unsigned i, const char *v, size_t len, void *arg);

/* Multi-gets keys [from, from + n); calls found for each key returned. */
static unsigned cl_mget_batch(memcached_st *mc, unsigned from, unsigned n, cl_found_fn *found,
                              void *arg)
{
    char keys[CL_MGET_BATCH][CL_KEY_MAX];
    const char *kp[CL_MGET_BATCH];
    size_t kl[CL_MGET_BATCH];
    for (unsigned i = 0; i < n; i++) {
        cl_key(from + i, keys[i]);
        kp[i] = keys[i];
        kl[i] = strlen(keys[i]);
    }
    memcached_return_t rc = memcached_mget(mc, kp, kl, n);
    ck_assert_msg(rc == MEMCACHED_SUCCESS, "mget: %s", memcached_strerror(mc, rc));
    unsigned got = 0;
    memcached_result_st *r;
    while ((r = memcached_fetch_result(mc, NULL, &rc)) != NULL) {
        unsigned i;
        char key[CL_KEY_MAX];
        snprintf(key, sizeof(key), "%.*s", (int)memcached_result_key_length(r),
                 memcached_result_key_value(r));
        ck_assert_int_eq(sscanf(key, "cluster:key:%u", &i), 1);
        ck_assert_uint_lt(i, CL_KEYS);
        found(i, memcached_result_value(r), memcached_result_length(r), arg);
        memcached_result_free(r);
        got++;
    }
    ck_assert_msg(rc == MEMCACHED_END || rc == MEMCACHED_NOTFOUND, "fetch: %s",
                  memcached_strerror(mc, rc));
    return got;
}

/* Calls found(i, value, len) for each of the CL_KEYS keys mc returns, in batches. */
static unsigned cl_mget(memcached_st *mc, cl_found_fn *found, void *arg)
{
    unsigned got = 0;
    for (unsigned from = 0; from < CL_KEYS; from += CL_MGET_BATCH)
        got += cl_mget_batch(mc, from, CL_MGET_BATCH, found, arg);
    return got;
}

static void cl_set_all(memcached_st *front)
{
    for (unsigned i = 0; i < CL_KEYS; i++) {
        char key[CL_KEY_MAX], value[CL_VALUE_MAX];
        cl_key(i, key);
        cl_value(i, value);
        memcached_return_t rc = memcached_set(front, key, strlen(key), value, strlen(value), 0, 0);
        ck_assert_msg(rc == MEMCACHED_SUCCESS, "set %s: %s", key, memcached_strerror(front, rc));
    }
}

static void cl_note_owner(unsigned i, const char *v, size_t len, void *arg)
{
    int server = *(int *)arg;
    ck_assert_msg(cl.owner[i] == -1, "key %u on servers %d and %d", i, cl.owner[i], server);
    cl.owner[i] = server;
}

/* Asks each server for every key: each key on exactly one, each server a share. */
static void cl_check_spread(const char *front_name)
{
    for (unsigned i = 0; i < CL_KEYS; i++)
        cl.owner[i] = -1;
    for (int s = 0; s < CL_SERVERS; s++) {
        memcached_st *mc = cl_direct(cl.srv[s].port);
        cl.spread[s] = cl_mget(mc, cl_note_owner, &s);
        memcached_free(mc);
    }
    for (unsigned i = 0; i < CL_KEYS; i++)
        ck_assert_msg(cl.owner[i] >= 0, "key %u on no server", i);
    printf("test_cluster: %s spread of %d keys:", front_name, CL_KEYS);
    for (int s = 0; s < CL_SERVERS; s++) {
        printf(" %u", cl.spread[s]);
        ck_assert_uint_gt(cl.spread[s], 0);
    }
    printf("\n");
}

struct readback {
    bool got[CL_KEYS];
};

static void cl_note_value(unsigned i, const char *v, size_t len, void *arg)
{
    struct readback *rb = arg;
    char want[CL_VALUE_MAX];
    cl_value(i, want);
    ck_assert_msg(len == strlen(want) && memcmp(v, want, len) == 0, "key %u: wrong value", i);
    rb->got[i] = true;
}

/* Reads every key through the front; returns how many of the stopped server's came back. */
static unsigned cl_read_back(memcached_st *front, bool stopped)
{
    static struct readback rb;
    memset(&rb, 0, sizeof(rb));
    cl_mget(front, cl_note_value, &rb);
    unsigned lost = 0;
    for (unsigned i = 0; i < CL_KEYS; i++) {
        bool on_stopped = stopped && cl.owner[i] == CL_STOPPED;
        if (on_stopped)
            lost += rb.got[i] ? 0 : 1;
        else
            ck_assert_msg(rb.got[i], "key %u (server %d) did not read back", i, cl.owner[i]);
    }
    return stopped ? cl.spread[CL_STOPPED] - lost : 0;
}

/* The first key the stopped server held. */
static unsigned cl_key_of_stopped(void)
{
    for (unsigned i = 0; i < CL_KEYS; i++)
        if (cl.owner[i] == CL_STOPPED)
            return i;
    ck_abort_msg("the stopped server held no key");
    return 0;
}

/* Requests for a key of the stopped server until the front has ejected it: the
 * key is then served (a miss, then a set and a hit) by another server. */
static void cl_wait_ejected(memcached_st *front)
{
    char key[CL_KEY_MAX], value[CL_VALUE_MAX];
    unsigned i = cl_key_of_stopped();
    cl_key(i, key);
    cl_value(i, value);
    for (int t = 0; t < CL_EJECT_TRIES; t++) {
        if (memcached_set(front, key, strlen(key), value, strlen(value), 0, 0) ==
            MEMCACHED_SUCCESS) {
            size_t len;
            uint32_t flags;
            memcached_return_t rc;
            char *v = memcached_get(front, key, strlen(key), &len, &flags, &rc);
            ck_assert_msg(v != NULL, "the re-set key does not read back");
            free(v);
            printf("test_cluster: the stopped server was ejected after %d request(s)\n", t + 1);
            return;
        }
        cl_sleep_ms(CL_STEP_MS);
    }
    ck_abort_msg("the front did not eject the stopped server");
}

static void cl_stop_one_and_check(memcached_st *front, const char *front_name)
{
    h_server_stop(&cl.srv[CL_STOPPED]);
    cl.srv[CL_STOPPED].pid = 0;
    cl_wait_ejected(front);
    unsigned kept = cl_read_back(front, true);
    printf("test_cluster: %s with server %d stopped: the other %u keys all read back, "
           "%u of its %u keys did (re-set while ejecting)\n",
           front_name, CL_STOPPED, CL_KEYS - cl.spread[CL_STOPPED], kept, cl.spread[CL_STOPPED]);
    ck_assert_uint_le(kept, 1);
}

/* ------------------------------------------------------------ nutcracker */

struct proxy {
    pid_t pid;
    int port;
    char dir[CL_DIR_MAX];
};

static bool cl_have(const char *tool)
{
    char cmd[CL_PATH_MAX];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

/* nutcracker's pool: the three servers, ketama, eject a server on its first failure. */
static void cl_write_conf(const struct proxy *p, const char *path)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "slabcache:\n"
            "  listen: 127.0.0.1:%d\n"
            "  hash: fnv1a_64\n"
            "  distribution: ketama\n"
            "  timeout: %d\n"
            "  auto_eject_hosts: true\n"
            "  server_failure_limit: 1\n"
            "  server_retry_timeout: 60000\n"
            "  servers:\n",
            p->port, CL_IO_TIMEOUT_MS);
    for (int s = 0; s < CL_SERVERS; s++)
        fprintf(f, "   - 127.0.0.1:%d:1 server%d\n", cl.srv[s].port, s);
    ck_assert_int_eq(fclose(f), 0);
}

static void cl_proxy_start(struct proxy *p)
{
    snprintf(p->dir, sizeof(p->dir), "/tmp/test_cluster.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(p->dir));
    char conf[CL_PATH_MAX], log[CL_PATH_MAX], pidf[CL_PATH_MAX], stats[CL_PATH_MAX];
    snprintf(conf, sizeof(conf), "%s/nutcracker.yml", p->dir);
    snprintf(log, sizeof(log), "%s/nutcracker.log", p->dir);
    snprintf(pidf, sizeof(pidf), "%s/nutcracker.pid", p->dir);
    p->port = h_free_port();
    snprintf(stats, sizeof(stats), "%d", h_free_port());
    cl_write_conf(p, conf);
    p->pid = fork();
    ck_assert_int_ge(p->pid, 0);
    if (p->pid == 0) {
        execlp("nutcracker", "nutcracker", "-c", conf, "-o", log, "-p", pidf, "-s", stats,
               "-a", "127.0.0.1", (char *)NULL);
        _exit(127);
    }
    h_track_pid(p->pid);
    for (int waited = 0; waited < CL_START_MS; waited += CL_STEP_MS) {
        int fd = h_connect(p->port);
        if (fd >= 0) {
            close(fd);
            return;
        }
        ck_assert_msg(waitpid(p->pid, NULL, WNOHANG) == 0, "nutcracker exited (see %s)", log);
        cl_sleep_ms(CL_STEP_MS);
    }
    ck_abort_msg("nutcracker did not accept within %d ms", CL_START_MS);
}

static void cl_proxy_stop(struct proxy *p)
{
    kill(p->pid, SIGTERM);
    waitpid(p->pid, NULL, 0);
    char cmd[CL_PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p->dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(nutcracker_spreads_and_ejects)
{
    if (!cl_have("nutcracker")) {
        printf("test_cluster: nutcracker is not installed (apt-get install nutcracker): "
               "its case left out\n");
        return;
    }
    cl_start_servers();
    struct proxy p;
    cl_proxy_start(&p);
    memcached_st *front = cl_direct(p.port);
    cl_set_all(front);
    cl_check_spread("nutcracker");
    cl_read_back(front, false);
    cl_stop_one_and_check(front, "nutcracker");
    memcached_free(front);
    cl_proxy_stop(&p);
    cl_stop_servers();
}
END_TEST

/* ------------------------------------------------------ libmemcached ketama */

START_TEST(ketama_spreads_and_ejects)
{
    cl_start_servers();
    memcached_st *front = cl_client();
    ck_assert_int_eq(memcached_behavior_set(front, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                                            MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA),
                     MEMCACHED_SUCCESS);
    memcached_behavior_set(front, MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 1);
    memcached_behavior_set(front, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 1);
    for (int s = 0; s < CL_SERVERS; s++)
        ck_assert_int_eq(memcached_server_add(front, "127.0.0.1", (in_port_t)cl.srv[s].port),
                         MEMCACHED_SUCCESS);
    cl_set_all(front);
    cl_check_spread("libmemcached ketama");
    cl_read_back(front, false);
    cl_stop_one_and_check(front, "libmemcached ketama");
    memcached_free(front);
    cl_stop_servers();
}
END_TEST

static Suite *cl_suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tcase_create("cluster");
    tcase_set_timeout(tc, CL_TIMEOUT_S);
    tcase_add_test(tc, nutcracker_spreads_and_ejects);
    tcase_add_test(tc, ketama_spreads_and_ejects);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return hc_run_suite(cl_suite());
}
