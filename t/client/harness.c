/*
 * harness: process control and raw-socket I/O shared by the client suites.
 *
 * Design: a server is a child process started with fork+exec on a port that
 * bind(0) found free; since another process may take that port before the
 * server binds it, a start that fails is retried on a new port. Readiness is
 * "a connect() succeeds", polled with a bound. Every started pid goes into a
 * table that an atexit handler kills, and children get PR_SET_PDEATHSIG so a
 * test process killed by Check's timeout does not leave servers behind.
 * All socket reads use poll() with a deadline so no test can hang.
 */
#include "t/client/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define H_MAX_TRACKED 64
#define H_POLL_STEP_MS 20
#define H_UDP_PROBE_REPLY_MAX 256
#define H_MEMCACHED_MIN_CHUNK_MAX (512 * 1024)
#define H_KIB 1024L

static pid_t h_tracked[H_MAX_TRACKED];
static int h_ntracked;
static pid_t h_owner;   /* the process that started them (not a forked test) */
static bool h_atexit_done;

static long long h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void h_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/*
 * A bound in ms from the environment (e.g. H_START_TIMEOUT_MS for a server
 * under valgrind, which starts and stops slower), else def.
 */
static long long h_env_ms(const char *name, long long def)
{
    const char *v = getenv(name);
    char *end = NULL;
    long long ms = v && *v ? strtoll(v, &end, 10) : -1;
    return ms > 0 && *end == '\0' ? ms : def;
}

long long h_start_timeout_ms(void)
{
    return h_env_ms("H_START_TIMEOUT_MS", H_START_TIMEOUT_MS);
}

long long h_stop_timeout_ms(void)
{
    return h_env_ms("H_STOP_TIMEOUT_MS", H_STOP_TIMEOUT_MS);
}

static void h_kill_tracked(void)
{
    if (getpid() != h_owner)
        return;
    for (int i = 0; i < h_ntracked; i++) {
        if (h_tracked[i] > 0 && kill(h_tracked[i], 0) == 0) {
            kill(h_tracked[i], SIGKILL);
            waitpid(h_tracked[i], NULL, WNOHANG);
        }
    }
    h_ntracked = 0;
}

void h_track_pid(pid_t pid)
{
    if (!h_atexit_done) {
        atexit(h_kill_tracked);
        h_atexit_done = true;
    }
    if (h_ntracked == 0 || h_owner != getpid()) {
        h_ntracked = 0;
        h_owner = getpid();
    }
    if (h_ntracked < H_MAX_TRACKED)
        h_tracked[h_ntracked++] = pid;
}

static void h_untrack_pid(pid_t pid)
{
    for (int i = 0; i < h_ntracked; i++)
        if (h_tracked[i] == pid)
            h_tracked[i] = 0;
}

const char *h_server_bin(void)
{
    const char *bin = getenv("SERVER_BIN");
    if (bin == NULL || *bin == '\0')
        bin = getenv("SLABCACHE_BIN");
    if (bin == NULL || *bin == '\0') {
        fprintf(stderr, "harness: set SERVER_BIN or SLABCACHE_BIN\n");
        abort();
    }
    return bin;
}

bool h_is_memcached(void)
{
    const char *bin = h_server_bin();
    const char *base = strrchr(bin, '/');
    base = base ? base + 1 : bin;
    return strncmp(base, "memcached", strlen("memcached")) == 0;
}

bool h_is_slabcache(void)
{
    return !h_is_memcached();
}

/* A loopback port the kernel hands out for a socket of this type (bound, then released). */
static int h_free_port_of(int type)
{
    int fd = socket(AF_INET, type, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int port = -1;

    if (fd < 0)
        return -1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

int h_free_port(void)
{
    return h_free_port_of(SOCK_STREAM);
}

/* Parses memcached-style sizes: "64k", "1m", "65536". */
static long h_parse_size(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end == 'k' || *end == 'K')
        v *= H_KIB;
    else if (*end == 'm' || *end == 'M')
        v *= H_KIB * H_KIB;
    return v;
}

/*
 * Builds argv: bin, -l, -p, -U, the test's flags, -u root when running as
 * root (both servers refuse root without -u), and for memcached what it needs
 * to accept the same flags (an -I under 512k needs a smaller slab_chunk_max).
 */
static int h_build_argv(const char **argv, char *portbuf, char *chunkbuf,
                        const char *const *flags)
{
    int n = 0;
    argv[n++] = h_server_bin();
    argv[n++] = "-l";
    argv[n++] = "127.0.0.1";
    argv[n++] = "-p";
    argv[n++] = portbuf;
    argv[n++] = "-U";
    argv[n++] = "0";
    for (int i = 0; flags && flags[i] && n < H_MAX_FLAGS + 8; i++) {
        argv[n++] = flags[i];
        if (h_is_memcached() && strcmp(flags[i], "-I") == 0 && flags[i + 1]) {
            long sz = h_parse_size(flags[i + 1]);
            if (sz < H_MEMCACHED_MIN_CHUNK_MAX) {
                snprintf(chunkbuf, 48, "slab_chunk_max=%ld", sz / 2);
                argv[n++] = flags[++i];
                argv[n++] = "-o";
                argv[n++] = chunkbuf;
            }
        }
    }
    if (geteuid() == 0) {
        argv[n++] = "-u";
        argv[n++] = "root";
    }
    argv[n] = NULL;
    return n;
}

static pid_t h_spawn(const char **argv, const char *out_path)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        close(null);
    }
    execv(argv[0], (char *const *)argv);
    fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/*
 * Polls connect() until it succeeds, the child exits, or the bound passes:
 * to the UNIX socket unix_path, or to 127.0.0.1:s->port when it is NULL.
 */
/* True when a `version` datagram to 127.0.0.1:port gets any reply within
 * one poll step (a server listening only on UDP). */
static bool h_udp_answers(int port)
{
    static const char probe[] = "\0\0\0\0\0\x01\0\0version\r\n";
    char buf[H_UDP_PROBE_REPLY_MAX];
    int fd = h_udp_socket(port);
    if (fd < 0)
        return false;
    bool ok = send(fd, probe, sizeof(probe) - 1, 0) == (ssize_t)(sizeof(probe) - 1) &&
              h_udp_recv(fd, buf, sizeof(buf), H_POLL_STEP_MS) > 0;
    close(fd);
    return ok;
}

/* Waits until the server answers: on the UNIX socket unix_path, else on UDP
 * port udp_port when not 0, else by a TCP connect to s->port. */
static bool h_wait_ready(struct h_server *s, const char *unix_path, int udp_port)
{
    long long deadline = h_now_ms() + h_env_ms("H_START_TIMEOUT_MS", H_START_TIMEOUT_MS);
    while (h_now_ms() < deadline) {
        if (unix_path == NULL && udp_port != 0) {
            if (h_udp_answers(udp_port))
                return true;
        } else {
            int fd = unix_path != NULL ? h_connect_unix(unix_path) : h_connect(s->port);
            if (fd >= 0) {
                close(fd);
                return true;
            }
        }
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            h_untrack_pid(s->pid);
            s->pid = -1;
            return false;
        }
        h_sleep_ms(H_POLL_STEP_MS);
    }
    return false;
}

bool h_server_start(struct h_server *s, const char *const *flags)
{
    const char *argv[H_MAX_FLAGS + 16];
    char portbuf[16], chunkbuf[48];

    signal(SIGPIPE, SIG_IGN);
    for (int attempt = 0; attempt < H_START_ATTEMPTS; attempt++) {
        s->port = h_free_port();
        snprintf(portbuf, sizeof(portbuf), "%d", s->port);
        snprintf(s->stderr_path, sizeof(s->stderr_path),
                 "/tmp/slabcache-t-%d-%d.err", (int)getpid(), s->port);
        h_build_argv(argv, portbuf, chunkbuf, flags);
        s->pid = h_spawn(argv, s->stderr_path);
        if (s->pid < 0)
            return false;
        h_track_pid(s->pid);
        if (h_wait_ready(s, NULL, 0))
            return true;
        if (s->pid > 0)
            h_server_stop(s);
        if (attempt + 1 < H_START_ATTEMPTS)
            unlink(s->stderr_path);   /* keep only the last one's, to report */
    }
    fprintf(stderr, "harness: %s did not start (see %s)\n", h_server_bin(),
            s->stderr_path);
    return false;
}

int h_server_stop(struct h_server *s)
{
    int status = -1;
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    long long deadline = h_now_ms() + h_env_ms("H_STOP_TIMEOUT_MS", H_STOP_TIMEOUT_MS);
    while (waitpid(s->pid, &status, WNOHANG) == 0) {
        if (h_now_ms() >= deadline) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            break;
        }
        h_sleep_ms(H_POLL_STEP_MS / 2);
    }
    h_untrack_pid(s->pid);
    s->pid = -1;
    if (!s->keep_stderr)
        unlink(s->stderr_path);
    return status;
}

static bool h_start_args_until(struct h_server *s, const char *const *args,
                               const char *unix_path, int tcp_port, int udp_port)
{
    const char *argv[H_MAX_FLAGS + 4];
    int n = 0;
    signal(SIGPIPE, SIG_IGN);
    argv[n++] = h_server_bin();
    for (int i = 0; args[i] != NULL && n < H_MAX_FLAGS; i++)
        argv[n++] = args[i];
    if (geteuid() == 0) {
        argv[n++] = "-u";
        argv[n++] = "root";
    }
    argv[n] = NULL;
    s->port = tcp_port;
    snprintf(s->stderr_path, sizeof(s->stderr_path), "/tmp/slabcache-t-%d-%d.err",
             (int)getpid(), tcp_port);
    s->pid = h_spawn(argv, s->stderr_path);
    if (s->pid < 0)
        return false;
    h_track_pid(s->pid);
    if (h_wait_ready(s, unix_path, udp_port))
        return true;
    if (s->pid > 0)
        h_server_stop(s);
    return false;
}

bool h_server_start_args(struct h_server *s, const char *const *args, const char *unix_path,
                         int tcp_port)
{
    return h_start_args_until(s, args, unix_path, tcp_port, 0);
}

bool h_server_start_udp(struct h_server *s, const char *const *args, int udp_port)
{
    return h_start_args_until(s, args, NULL, 0, udp_port);
}

int h_connect_unix(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int h_free_udp_port(void)
{
    return h_free_port_of(SOCK_DGRAM);
}

int h_udp_socket(int port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    if (fd < 0)
        return -1;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

ssize_t h_udp_recv(int fd, void *buf, size_t cap, int timeout_ms)
{
    long long deadline = h_now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - h_now_ms();
        struct pollfd pf = { fd, POLLIN, 0 };
        int r = left > 0 ? poll(&pf, 1, (int)left) : 0;
        if (r == 0)
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        ssize_t n = recv(fd, buf, cap, 0);
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

/* Appends what is readable on fd now to dst (NUL-terminated); false at EOF. */
static bool h_take(int fd, char *dst, size_t *n, size_t cap)
{
    char tmp[4096];
    ssize_t r = read(fd, tmp, sizeof(tmp));
    if (r <= 0)
        return false;
    size_t take = (size_t)r < cap - 1 - *n ? (size_t)r : cap - 1 - *n;
    memcpy(dst + *n, tmp, take);
    *n += take;
    dst[*n] = '\0';
    return true;
}

/*
 * Collects a child's stdout and stderr until it exits (a daemon's
 * grandchild may keep the pipes open, so EOF alone is not the end) or the
 * deadline passes. Returns true if the child exited, with its status.
 */
static bool h_collect(pid_t pid, int ofd, int efd, char *out, size_t ocap,
                      char *err, size_t ecap, long long deadline, int *status)
{
    size_t on = 0, en = 0;
    struct pollfd p[2] = { { ofd, POLLIN, 0 }, { efd, POLLIN, 0 } };
    bool exited = false;
    out[0] = err[0] = '\0';
    for (;;) {
        if (!exited)
            exited = waitpid(pid, status, WNOHANG) == pid;
        int ready = poll(p, 2, exited ? 0 : H_POLL_STEP_MS);
        for (int i = 0; ready > 0 && i < 2; i++) {
            if (p[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP)) &&
                !(i == 0 ? h_take(p[i].fd, out, &on, ocap) : h_take(p[i].fd, err, &en, ecap)))
                p[i].fd = -1;
        }
        if (exited && ready <= 0)
            return true;
        if (h_now_ms() >= deadline)
            return false;
    }
}

int h_run_capture(const char *const *args, char *out, size_t out_cap,
                  char *err, size_t err_cap, int timeout_ms)
{
    int po[2], pe[2], status = 0;
    const char *argv[H_MAX_FLAGS + 2];
    int n = 0;

    argv[n++] = h_server_bin();
    for (int i = 0; args[i] && n < H_MAX_FLAGS; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (pipe(po) != 0 || pipe(pe) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(po[1], STDOUT_FILENO);
        dup2(pe[1], STDERR_FILENO);
        close(po[0]);
        close(pe[0]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    h_track_pid(pid);
    close(po[1]);
    close(pe[1]);
    long long deadline = h_now_ms() + timeout_ms;
    bool exited = h_collect(pid, po[0], pe[0], out, out_cap, err, err_cap,
                            deadline, &status);
    close(po[0]);
    close(pe[0]);
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        h_untrack_pid(pid);
        return -1;
    }
    h_untrack_pid(pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int h_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    int one = 1;

    if (fd < 0)
        return -1;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

bool h_send(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    long long deadline = h_now_ms() + H_IO_TIMEOUT_MS;
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            p += w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return false;
        struct pollfd pf = { fd, POLLOUT, 0 };
        if (h_now_ms() >= deadline || poll(&pf, 1, H_POLL_STEP_MS * 5) < 0)
            return false;
    }
    return true;
}

bool h_send_str(int fd, const char *s)
{
    return h_send(fd, s, strlen(s));
}

static bool h_ends_with(const char *buf, size_t n, const char *term)
{
    size_t t = strlen(term);
    return n >= t && memcmp(buf + n - t, term, t) == 0;
}

size_t h_read_until(int fd, char *buf, size_t cap, const char *term,
                    int timeout_ms, bool *closed)
{
    size_t n = 0;
    long long deadline = h_now_ms() + timeout_ms;
    if (closed)
        *closed = false;
    while (n < cap - 1) {
        if (term && h_ends_with(buf, n, term))
            break;
        long long left = deadline - h_now_ms();
        struct pollfd pf = { fd, POLLIN, 0 };
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            break;
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            if (closed)
                *closed = true;
            break;
        }
        n += (size_t)r;
    }
    buf[n] = '\0';
    return n;
}

size_t h_read_n(int fd, char *buf, size_t n, int timeout_ms)
{
    size_t got = 0;
    long long deadline = h_now_ms() + timeout_ms;
    while (got < n) {
        long long left = deadline - h_now_ms();
        struct pollfd pf = { fd, POLLIN, 0 };
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            break;
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            break;
        }
        got += (size_t)r;
    }
    return got;
}

bool h_wait_closed(int fd, int timeout_ms)
{
    char tmp[4096];
    bool closed = false;
    long long deadline = h_now_ms() + timeout_ms;
    while (!closed && h_now_ms() < deadline)
        h_read_until(fd, tmp, sizeof(tmp), NULL,
                     (int)(deadline - h_now_ms()), &closed);
    return closed;
}

size_t h_read_extra(int fd, char *buf, size_t cap, int wait_ms)
{
    struct pollfd pf = { fd, POLLIN, 0 };
    int r;
    do
        r = poll(&pf, 1, wait_ms);
    while (r < 0 && errno == EINTR);
    if (r <= 0 || cap == 0)
        return 0;
    ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
    return n > 0 ? (size_t)n : 0;   /* 0 also for EOF or a reset: no bytes */
}

size_t h_roundtrip(int fd, const char *req, size_t req_len, char *buf,
                   size_t cap, size_t expect_len, int timeout_ms)
{
    if (!h_send(fd, req, req_len))
        return 0;
    size_t want = expect_len < cap - 1 ? expect_len : cap - 1;
    size_t n = h_read_n(fd, buf, want, timeout_ms);
    buf[n] = '\0';
    return n;
}

bool h_usable(int fd)
{
    char buf[128];
    if (!h_send_str(fd, "version\r\n"))
        return false;
    size_t n = h_read_until(fd, buf, sizeof(buf), "\r\n", H_IO_TIMEOUT_MS, NULL);
    return n > strlen("VERSION \r\n") && strncmp(buf, "VERSION ", 8) == 0;
}

bool h_stats(int port, const char *group, char *buf, size_t cap)
{
    char req[128];
    int fd = h_connect(port);
    if (fd < 0)
        return false;
    snprintf(req, sizeof(req), "stats%s%s\r\n", group ? " " : "",
             group ? group : "");
    bool ok = h_send_str(fd, req);
    size_t n = ok ? h_read_until(fd, buf, cap, "END\r\n", H_IO_TIMEOUT_MS, NULL) : 0;
    close(fd);
    return ok && h_ends_with(buf, n, "END\r\n");
}

/* Finds "STAT name " at the start of a line. */
static const char *h_stat_find(const char *stats, const char *name)
{
    char pat[160];
    snprintf(pat, sizeof(pat), "STAT %s ", name);
    size_t pl = strlen(pat);
    for (const char *p = stats; p && *p; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        if (strncmp(p, pat, pl) == 0)
            return p + pl;
    }
    return NULL;
}

long long h_stat_num(const char *stats, const char *name)
{
    const char *v = h_stat_find(stats, name);
    return v ? strtoll(v, NULL, 10) : -1;
}

bool h_stat_str(const char *stats, const char *name, char *out, size_t cap)
{
    const char *v = h_stat_find(stats, name);
    if (v == NULL)
        return false;
    size_t n = strcspn(v, "\r\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return true;
}

const char *h_escape(const char *buf, size_t len)
{
    static char out[4096];
    size_t o = 0;
    for (size_t i = 0; i < len && o < sizeof(out) - 8; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\r')
            o += (size_t)snprintf(out + o, 3, "\\r");
        else if (c == '\n')
            o += (size_t)snprintf(out + o, 3, "\\n");
        else if (c < 32 || c > 126)
            o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    if (len > 0 && o >= sizeof(out) - 8)
        o += (size_t)snprintf(out + o, 4, "...");
    out[o] = '\0';
    return out;
}
