/*
 * harness: start and stop a server under test on a free loopback port, and
 * talk to it over raw sockets with exact-byte comparisons.
 *
 * The server binary is $SERVER_BIN if set, else $SLABCACHE_BIN (both set by
 * `make check`), so the same suites run against Debian's memcached:
 *   SERVER_BIN=/usr/bin/memcached make check
 * Every server gets `-l 127.0.0.1 -p PORT -U 0` plus the test's flags. Servers
 * are recorded in a table and killed at exit, and die with the test process
 * (PR_SET_PDEATHSIG) if Check kills it on a timeout.
 */
#ifndef T_CLIENT_HARNESS_H
#define T_CLIENT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Bounds, in milliseconds. H_START_TIMEOUT_MS and H_STOP_TIMEOUT_MS in the
 * environment override the start and stop bounds (make check-valgrind).
 */
#define H_START_TIMEOUT_MS 5000
#define H_STOP_TIMEOUT_MS 5000
#define H_IO_TIMEOUT_MS 5000
#define H_START_ATTEMPTS 5
#define H_MAX_FLAGS 32
/*
 * How long an exact-reply check (HC_EXPECT) waits, once the expected bytes
 * are in, for bytes past them. Extra bytes of the same reply come with it or
 * right after; 20 ms per check keeps the suites fast. A server slower than
 * that (valgrind) can only make the check miss a late byte, never fail a
 * right reply, and the next exchange on the connection then reads that byte.
 */
#define H_EXTRA_WAIT_MS 20

struct h_server {
    pid_t pid;
    int port;
    char stderr_path[64];   /* the server's stderr goes here */
    bool keep_stderr;       /* else h_server_stop removes that file */
};

/* Path of the binary under test; aborts if neither variable is set. */
const char *h_server_bin(void);
/* True when the binary under test is memcached (by its file name). */
bool h_is_memcached(void);
bool h_is_slabcache(void);

/* The start and stop bounds, with their environment overrides (valgrind). */
long long h_start_timeout_ms(void);
long long h_stop_timeout_ms(void);

/* A port that was free a moment ago on 127.0.0.1. */
int h_free_port(void);

/*
 * Starts the server with the NULL-terminated extra flags and waits until it
 * accepts. Returns false (with the reason on stderr) if it never does.
 */
bool h_server_start(struct h_server *s, const char *const *flags);
/* SIGTERM, bounded wait, SIGKILL. Returns the exit status as from waitpid. */
int h_server_stop(struct h_server *s);
/* Remembers a pid (e.g. a daemon's) to SIGKILL at exit if still alive. */
void h_track_pid(pid_t pid);

/* Runs bin with args (NULL-terminated, argv[0] excluded), capturing output. */
int h_run_capture(const char *const *args, char *out, size_t out_cap,
                  char *err, size_t err_cap, int timeout_ms);

/* Raw socket helpers. */
int h_connect(int port);                      /* -1 on failure */
bool h_send(int fd, const void *buf, size_t len);
bool h_send_str(int fd, const char *s);
/*
 * Reads until the bytes read end with term (or contain it when term is
 * NULL and want bytes arrived), EOF or timeout. Returns the count read; the
 * buffer is NUL-terminated. *closed says whether EOF/reset was seen.
 */
size_t h_read_until(int fd, char *buf, size_t cap, const char *term,
                    int timeout_ms, bool *closed);
/* Reads exactly n bytes (or fewer on EOF/timeout). */
size_t h_read_n(int fd, char *buf, size_t n, int timeout_ms);
/* Waits for EOF/reset; true if the peer closed within the bound. */
bool h_wait_closed(int fd, int timeout_ms);
/*
 * Bytes that arrive after a complete reply: waits up to wait_ms for fd to
 * become readable, then takes what is there without blocking (up to cap).
 * Returns the count, 0 when nothing came (EOF and resets count as nothing).
 */
size_t h_read_extra(int fd, char *buf, size_t cap, int wait_ms);
/* Sends req and reads until the reply is as long as expected or a timeout. */
size_t h_roundtrip(int fd, const char *req, size_t req_len, char *buf,
                   size_t cap, size_t expect_len, int timeout_ms);
/* True when `version` still gets a VERSION reply on fd. */
bool h_usable(int fd);

/* `stats [group]` on a fresh connection into buf; false on error. */
bool h_stats(int port, const char *group, char *buf, size_t cap);
/* Value of "STAT name value" in a stats reply; -1 when absent. */
long long h_stat_num(const char *stats, const char *name);
bool h_stat_str(const char *stats, const char *name, char *out, size_t cap);

/* ---- other transports (UNIX sockets, UDP) and exact command lines ---- */

/*
 * Starts the server with exactly args (NULL-terminated, after argv[0]; only
 * -u root is added when root: no -l, -p or -U) and waits until a connect
 * succeeds: to the UNIX socket unix_path when not NULL, else to
 * 127.0.0.1:tcp_port. One attempt; s->port is set to tcp_port.
 */
bool h_server_start_args(struct h_server *s, const char *const *args, const char *unix_path,
                         int tcp_port);
/*
 * As h_server_start_args, for a server that listens only on UDP (-p 0 -U):
 * waits until a `version` datagram to 127.0.0.1:udp_port is answered.
 */
bool h_server_start_udp(struct h_server *s, const char *const *args, int udp_port);
/* A stream connection to the UNIX socket at path; -1 on failure. */
int h_connect_unix(const char *path);
/* A UDP port that was free a moment ago on 127.0.0.1. */
int h_free_udp_port(void);
/* A UDP socket connected to 127.0.0.1:port; -1 on failure. */
int h_udp_socket(int port);
/* One datagram within timeout_ms: its length, 0 on timeout, -1 on error (errno). */
ssize_t h_udp_recv(int fd, void *buf, size_t cap, int timeout_ms);

/* Printable rendering of bytes for failure messages (static buffer). */
const char *h_escape(const char *buf, size_t len);

#endif
