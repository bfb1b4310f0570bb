/*
 * sconn: buffered client connections and pass/fail bookkeeping for the
 * stress suites (t/stress/), on top of the t/client harness.
 *
 * The harness reads with one poll per call and no buffer kept between calls,
 * which is right for exact-byte checks of short replies; stress clients read
 * many replies of up to a megabyte back to back, so they keep a per-connection
 * read buffer and parse lines and exact byte counts from it. Every read and
 * write is bounded by a deadline, so a server that stops answering makes a
 * test fail, never hang.
 */
#ifndef T_STRESS_SCONN_H
#define T_STRESS_SCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_IO_TIMEOUT_MS 10000
#define SC_LINE_MAX 4096

struct sc_conn {
    int fd;
    char *buf;
    size_t cap;
    size_t start;   /* first unread byte */
    size_t end;     /* one past the last byte read */
};

/* Connects to 127.0.0.1:port; false on failure. */
bool sc_open(struct sc_conn *c, int port);
void sc_close(struct sc_conn *c);
bool sc_write(struct sc_conn *c, const void *buf, size_t len);
/*
 * Reads one line ending in "\r\n" into out (NUL-terminated, without the
 * CRLF). Returns its length, or -1 on EOF, timeout or a line over cap.
 */
long sc_line(struct sc_conn *c, char *out, size_t cap);
/* Reads exactly n bytes into out; false on EOF or timeout. */
bool sc_exact(struct sc_conn *c, char *out, size_t n);
/* A `stats` numeric value over a fresh connection; -1 when unavailable. */
long long sc_stat(int port, const char *name);

/* Monotonic milliseconds. */
long long sc_now_ms(void);
void sc_sleep_ms(int ms);
/* Integer environment variable, or def when unset or not a number. */
long sc_env_long(const char *name, long def);

/* A small fast PRNG (xorshift64*), deterministic for a seed. */
uint64_t sc_rand(uint64_t *state);
uint64_t sc_hash(const void *buf, size_t len, uint64_t seed);   /* FNV-1a */

/* Pass/fail tally: prints "ok" or "FAIL" lines and the summary line. */
struct sc_tally {
    int passed;
    int failed;
};
void sc_check(struct sc_tally *t, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints "N passed, N failed"; returns the exit status for the program. */
int sc_summary(const struct sc_tally *t);

#endif
