/*
 * main: process life of slabcache.
 *
 * Order matters and is chosen so every start-up failure reaches the
 * terminal with a non-zero exit: parse options -> root check -> raise the
 * fd limit -> build the store -> bind the listeners -> (-vv) print the class
 * table -> daemonize (-d; the parent waits until the child is serving) ->
 * drop privileges (-u) -> lock memory (-k) -> write the pid file (-P) ->
 * start the store's mover thread (after the fork: threads do not survive
 * it), the workers, the metrics endpoint (-o metrics_port, bound with the
 * listeners) and the main loop. SIGTERM, SIGINT and the `shutdown`
 * command all end in server_stop(): the main loop returns, accepting stops,
 * the workers close their connections and are joined, and only then are the
 * listening sockets closed and freed (workers read that array for `stats`),
 * the -s socket file and the pid file removed, the store (and its mover
 * thread) destroyed, and the process exits 0. SIGUSR1 and `shutdown
 * graceful` stop the same way and, with -e, save the cache into the memory
 * file once the workers are gone (store_save), as memcached's graceful stop.
 * SIGHUP rereads -Y's password file (auth_reload) and the server goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "config.h"
#include "common/clock.h"
#include "common/detail.h"
#include "common/log.h"
#include "common/logger.h"
#include "server/server.h"

#define MAIN_TICK_SECONDS 1
#define MAIN_RESERVED_FDS 20     /* listeners, notify pipes, logs: beyond -c */
#define MAIN_ERR_MAX 256

static void server_on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    clock_tick();
    store_maintain(srv->store);
}

/* SIGHUP, as memcached's: reread -Y's password file; the server goes on. */
static void server_on_hangup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    auth_reload(arg);
}

static void server_on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;
    log_info("Signal handled: %s.\n", strsignal((int)sig));
    server_stop_for(srv, sig == SIGUSR1 ? PROTO_SHUTDOWN_GRACEFUL : PROTO_SHUTDOWN);
}

void server_stop(struct server *srv)
{
    atomic_store(&srv->stopping, true);
    event_base_loopbreak(srv->base);
}

void server_stop_for(struct server *srv, enum proto_action action)
{
    if (action == PROTO_SHUTDOWN_GRACEFUL)
        atomic_store(&srv->graceful, true);
    server_stop(srv);
}

/* -e: what became of the memory file, one line as memcached says it. */
static void report_warm_start(store *st)
{
    char note[MAIN_ERR_MAX];
    if (store_warm_status(st, note, sizeof(note)) != STORE_WARM_OFF)
        log_error("%s\n", note);
}

/* A graceful stop saves the cache for the next start with -e. */
static void save_memory_file(struct server *srv)
{
    char err[MAIN_ERR_MAX];
    log_error("Gracefully stopping\n");
    if (store_save(srv->store, err, sizeof(err)) != 0)
        log_error("%s\n", err);
}

static void server_set_verbosity(void *arg, int level)
{
    log_set_level(level);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(PACKAGE_NAME ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EX_OSERR);
}

/* Descriptors kept beyond -c for the server itself (`stats` reserved_fds):
 * a wake-up pipe per worker, and MAIN_RESERVED_FDS. */
static unsigned reserved_fds(const struct settings *s)
{
    return MAIN_RESERVED_FDS + 2 * s->threads;
}

/* -c connections need that many descriptors, plus what the server keeps. */
static void raise_fd_limit(const struct settings *s)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)s->maxconns + reserved_fds(s);
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
        return;
    rl.rlim_cur = need;
    if (rl.rlim_max < need)
        rl.rlim_max = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        die("failed to set rlimit for open files. Try starting as root or requesting "
            "smaller maxconns value.");
}

static void enable_coredumps(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_CORE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_CORE, &rl) != 0)
            log_info("failed to raise the core file limit: %s\n", strerror(errno));
    }
}

/* -vv: the class table, in memcached's format. */
static void print_class_table(store *st)
{
    unsigned n = store_class_count(st);
    for (unsigned c = 1; c <= n; c++)
        log_debug("slab class %3u: chunk size %9u perslab %7u\n", c,
                  store_class_chunk_size(st, c), store_class_per_page(st, c));
}

/*
 * -d: forks; the parent stays until the child reports it is serving (one
 * byte on a pipe) so that "slabcache -d" returning 0 means the port answers.
 * Returns the pipe end the child writes to.
 */
static int daemonize(bool keep_stdio)
{
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0)
        die("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid > 0) {
        close(ready[1]);
        char b;
        ssize_t n;
        while ((n = read(ready[0], &b, 1)) < 0 && errno == EINTR)
            ;
        _exit(n == 1 ? 0 : EX_OSERR);
    }
    close(ready[0]);
    if (setsid() < 0)
        die("setsid: %s", strerror(errno));
    if (chdir("/") != 0)
        die("chdir /: %s", strerror(errno));
    if (!keep_stdio) {
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, STDIN_FILENO);
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            if (fd > STDERR_FILENO)
                close(fd);
        }
    }
    return ready[1];
}

static void drop_privileges(const char *user)
{
    if (getuid() != 0 && geteuid() != 0)
        return;   /* memcached: -u only matters when run as root */
    struct passwd *pw = getpwnam(user);
    if (pw == NULL)
        die("can't find the user %s to switch to", user);
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
        die("failed to assume identity of user %s", user);
}

/*
 * The pid file, as memcached 1.6.45 writes it: to "<path>.tmp", then renamed,
 * so a reader never sees it empty; a file that cannot be written is reported
 * and the server runs on (memcached's behaviour: an init script's pid file in
 * a directory the -u user cannot write must not stop the cache).
 */
static void write_pidfile(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        fprintf(stderr, "Could not open the pid file %s for writing: name too long\n", path);
        return;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "Could not open the pid file %s for writing: %s\n", tmp,
                strerror(errno));
        return;
    }
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "Could not write the pid file %s: %s\n", path, strerror(errno));
        unlink(tmp);
    }
}

/* -i: memcached prints its own and libevent's licenses. */
static void print_licenses(void)
{
    settings_version(stdout);
    printf("%s ships no license text of its own: see its source tree.\n"
           "It links libevent %s, under the 3-clause BSD license"
           " (https://libevent.org/LICENSE.txt).\n",
           PACKAGE_NAME, event_get_version());
}

static void log_notice(const char *line)
{
    log_info("%s\n", line);
}

static int parse_or_exit(struct server *srv, int argc, char **argv)
{
    char err[SETTINGS_ERR_MAX];
    switch (settings_parse(&srv->settings, argc, argv, err, sizeof(err))) {
    case SETTINGS_HELP:
        settings_usage(stdout);
        exit(EXIT_SUCCESS);
    case SETTINGS_VERSION:
        settings_version(stdout);
        exit(EXIT_SUCCESS);
    case SETTINGS_LICENSE:
        print_licenses();
        exit(EXIT_SUCCESS);
    case SETTINGS_ERROR:
        fprintf(stderr, "%s: %s\n", PACKAGE_NAME, err);
        exit(EX_USAGE);
    case SETTINGS_RUN:
        break;
    }
    if ((getuid() == 0 || geteuid() == 0) && srv->settings.user == NULL) {
        fprintf(stderr, "can't run as root without the -u switch\n");
        exit(EX_USAGE);
    }
    return 0;
}

static void build_store(struct server *srv)
{
    struct store_config cfg;
    char err[MAIN_ERR_MAX];
    settings_store_config(&srv->settings, &cfg);
    if (settings_hash_substituted(&srv->settings))
        log_info("-o hash_algorithm=%s: keys hash with seeded %s instead\n",
                 srv->settings.hash_algorithm, SETTINGS_HASH_USED);
    settings_notices(&srv->settings, log_notice);
    srv->store = store_create(&cfg, err, sizeof(err));
    if (srv->store == NULL) {
        fprintf(stderr, "%s: %s\n", PACKAGE_NAME, err);
        exit(EX_USAGE);
    }
    srv->env = (struct proto_env){
        .store = srv->store,
        .shutdown_enabled = srv->settings.shutdown,
        .flush_disabled = srv->settings.no_flush,
        .dump_disabled = srv->settings.no_dump,
        .slab_reassign = srv->settings.slab_reassign,
        .mode = srv->settings.protocol,
        .watch_enabled = !srv->settings.no_watch,
        .stats = stats_group,
        .stats_reset = stats_reset,
        .set_verbosity = server_set_verbosity,
        .auth_check = srv->settings.auth_file != NULL ? auth_check : NULL,
        .arg = srv,
    };
}

/* watch's rings and stats detail's prefixes (-D turns it on), before any thread logs. */
static void logging_init(const struct settings *s)
{
    logger_init(s->worker_logbuf_size * SETTINGS_KIB, s->watcher_logbuf_size * SETTINGS_KIB);
    detail_init(settings_prefix_delimiter(s), s->prefix_delimiter != NULL);
}

/* -Y: the password file is read before anything listens; a bad one stops
 * the start as memcached's does (exit 1, its message). */
static void load_auth_or_exit(struct server *srv)
{
    char err[MAIN_ERR_MAX];
    if (srv->settings.auth_file == NULL)
        return;
    if (auth_load(srv, srv->settings.auth_file, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(EXIT_FAILURE);
    }
}

static struct event *add_event(struct server *srv, evutil_socket_t fd, short what,
                               event_callback_fn cb, const struct timeval *tv)
{
    struct event *ev = event_new(srv->base, fd, what, cb, srv);
    if (ev == NULL || event_add(ev, tv) != 0)
        die("cannot set up the main event loop");
    return ev;
}

/*
 * SIGTERM/SIGINT/SIGUSR1/SIGHUP stay blocked from the start until their libevent handlers
 * are in place: the listening sockets accept (into the backlog) before the
 * event loop runs, so a client may already send one of these signals, which would
 * otherwise kill the process with the default action. Threads started while
 * blocked inherit the mask, so the main thread alone takes these signals.
 */
static void stop_signals_block(bool block)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

int main(int argc, char **argv)
{
    static struct server srv;
    char err[MAIN_ERR_MAX];

    stop_signals_block(true);
    clock_init();
    parse_or_exit(&srv, argc, argv);
    const struct settings *s = &srv.settings;
    log_set_level((int)s->verbose);
    signal(SIGPIPE, SIG_IGN);
    if (s->coredumps)
        enable_coredumps();
    raise_fd_limit(s);
    srv.reserved_fds = reserved_fds(s);
    load_auth_or_exit(&srv);
    build_store(&srv);
    report_warm_start(srv.store);
    if (listeners_open(&srv, err, sizeof(err)) != 0 || metrics_open(&srv, err, sizeof(err)) != 0)
        die("%s", err);
    print_class_table(srv.store);

    int ready = s->daemon ? daemonize(s->verbose > 0) : -1;
    if (s->user != NULL)
        drop_privileges(s->user);
    if (s->lock_memory && mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
        log_info("warning: -k invalid, mlockall() failed: %s\n", strerror(errno));
    srv.pid = getpid();
    if (s->pidfile != NULL)
        write_pidfile(s->pidfile);

    if (evthread_use_pthreads() != 0 || (srv.base = event_base_new()) == NULL)
        die("cannot initialise libevent");
    logging_init(s);
    /* the page mover, after -d's fork (a thread does not survive it) */
    if (store_start_background(srv.store, err, sizeof(err)) != 0 || stats_init(&srv) != 0 ||
        workers_start(&srv, err, sizeof(err)) != 0)
        die("%s", err);
    if (listeners_arm(&srv) != 0 || metrics_start(&srv) != 0)
        die("cannot watch the listening sockets");
    struct timeval tick = { MAIN_TICK_SECONDS, 0 };
    struct event *tick_ev = add_event(&srv, -1, EV_PERSIST, server_on_tick, &tick);
    struct event *term_ev = add_event(&srv, SIGTERM, EV_SIGNAL | EV_PERSIST, server_on_signal, NULL);
    struct event *int_ev = add_event(&srv, SIGINT, EV_SIGNAL | EV_PERSIST, server_on_signal, NULL);
    struct event *usr1_ev = add_event(&srv, SIGUSR1, EV_SIGNAL | EV_PERSIST, server_on_signal, NULL);
    struct event *hup_ev = add_event(&srv, SIGHUP, EV_SIGNAL | EV_PERSIST, server_on_hangup, NULL);
    stop_signals_block(false);
    if (ready >= 0) {
        char one = 1;
        if (write(ready, &one, 1) != 1)
            log_info("could not signal the parent process\n");
        close(ready);
    }

    event_base_dispatch(srv.base);

    bool graceful = atomic_load(&srv.graceful);
    if (!graceful)
        log_info("Exiting normally\n");
    listeners_pause(&srv);
    workers_stop(&srv);
    listeners_close(&srv);
    metrics_close(&srv);
    if (graceful)
        save_memory_file(&srv);
    event_free(tick_ev);
    event_free(term_ev);
    event_free(int_ev);
    event_free(usr1_ev);
    event_free(hup_ev);
    event_base_free(srv.base);
    if (s->pidfile != NULL)
        unlink(s->pidfile);
    stats_free(&srv);
    auth_free(&srv);
    store_destroy(srv.store);
    logger_shutdown();
    detail_clear();
    settings_free(&srv.settings);
    return EXIT_SUCCESS;
}
