/*
 * listen: the listening sockets (TCP -l/-p/-b, UDP -U, UNIX -s) and accepting.
 *
 * Sockets are opened and bound before the process daemonizes or drops
 * privileges, so a busy port is reported on the terminal with a non-zero
 * exit, and ports below 1024 work with -u. As memcached, -s replaces the
 * network: with a UNIX socket no TCP or UDP socket is opened; -p 0 opens
 * no TCP socket. A -l entry takes memcached 1.6.45's forms: optional
 * proto[ascii|binary|negotiating]: (that listener's protocol instead of -B;
 * each listener carries its mode to its connections) and tag[name]: or
 * tag_name_: (checked, then unused: tags route memcached's proxy), before
 * host, host:port, [v6]:port or *; entries are separated by ',' or ';'.
 * The metrics endpoint's sockets (-o metrics_port) are bound here too, at
 * the first -l host (127.0.0.1 with -s), and handed to server/metrics.c.
 *
 * Accepting runs on the main thread: each new socket is counted against -c
 * (beyond it the client gets memcached's "ERROR Too many open connections"
 * and is closed at once; under -o no_maxconns_fast accepting pauses instead
 * and the client waits in the backlog), made non-blocking (TCP_NODELAY for
 * TCP), and handed to a worker. When accept() itself fails for want of
 * descriptors (EMFILE/ENFILE) the pending connection stays in the kernel's
 * queue, so the listen event would fire again at once and spin: instead
 * accepting is paused for LISTEN_EMFILE_PAUSE_MS (counted in
 * listen_disabled_num and time_in_listen_disabled_us, as memcached) and
 * resumed from a timer, which also re-checks -c under no_maxconns_fast.
 *
 * UNIX socket file: a socket file left by a dead server is removed before
 * binding; one where a server still accepts is refused (memcached would
 * unlink it and orphan that server). The file gets mode -a (via umask while
 * binding, so it never exists with a wider mode) and is removed at exit.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/util.h>

#include "config.h"
#include "common/log.h"
#include "server/server.h"

#define LISTEN_REJECT_MSG "ERROR Too many open connections\r\n"
#define LISTEN_PORT_TEXT_MAX 8
#define LISTEN_LOOPBACK "127.0.0.1"   /* where -s servers put other TCP ports */
#define LISTEN_SEPARATORS ";,"        /* between -l entries, as memcached */
#define LISTEN_ANY "*"                /* -l host meaning every interface */
#define LISTEN_EMFILE_PAUSE_MS 50
#define LISTEN_MODE_BITS 0777
#define US_PER_SEC 1000000ULL
#define NS_PER_US 1000ULL
#define US_PER_MS 1000

static uint64_t listen_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * US_PER_SEC + (uint64_t)ts.tv_nsec / NS_PER_US;
}

/* ------------------------------------------------------------ TCP and UDP */

static void listen_addr_text(const struct addrinfo *ai, unsigned port, char *out, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    bool v6 = ai->ai_family == AF_INET6;
    const void *a = v6 ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                       : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
    evutil_inet_ntop(ai->ai_family, a, host, sizeof(host));
    const char *proto = ai->ai_socktype == SOCK_DGRAM ? "udp" : "tcp";
    if (v6)
        snprintf(out, len, "%s6:[%s]:%u", proto, host, port);
    else
        snprintf(out, len, "%s:%s:%u", proto, host, port);
}

/* Returns the bound fd, -1 on error (err set), or -2 for an address to skip. */
static int listen_bind(struct server *srv, const struct addrinfo *ai, unsigned port, char *err,
                       size_t errlen)
{
    bool udp = ai->ai_socktype == SOCK_DGRAM;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd < 0) {
        if (errno == EAFNOSUPPORT)
            return -2;   /* e.g. no IPv6 on this host: the other family serves */
        snprintf(err, errlen, "socket(): %s", strerror(errno));
        return -1;
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        (!udp && listen(fd, (int)srv->settings.backlog) != 0)) {
        int e = errno;
        close(fd);
        if (e == EADDRNOTAVAIL && ai->ai_family == AF_INET6)
            return -2;
        snprintf(err, errlen, "failed to listen on %s port %u: %s", udp ? "UDP" : "TCP", port,
                 strerror(e));
        return -1;
    }
    return fd;
}

static int listen_add_tcp(struct server *srv, int fd, enum listener_kind kind,
                          enum proto_mode mode, const char *addr)
{
    struct listener *l = realloc(srv->listeners, (srv->nlisteners + 1) * sizeof(*l));
    if (l == NULL)
        return -1;
    srv->listeners = l;
    l = &srv->listeners[srv->nlisteners++];
    memset(l, 0, sizeof(*l));
    l->fd = fd;
    l->kind = kind;
    l->mode = mode;
    snprintf(l->addr, sizeof(l->addr), "%s", addr);
    return 0;
}

static int listen_add_udp(struct server *srv, int fd, const char *addr)
{
    struct udp_socket *u = realloc(srv->udp, (srv->nudp + 1) * sizeof(*u));
    if (u == NULL)
        return -1;
    srv->udp = u;
    u = &srv->udp[srv->nudp++];
    u->fd = fd;
    snprintf(u->addr, sizeof(u->addr), "%s", addr);
    return 0;
}

static int listen_add(struct server *srv, const struct addrinfo *ai, unsigned port,
                      enum proto_mode mode, char *err, size_t errlen)
{
    int fd = listen_bind(srv, ai, port, err, errlen);
    if (fd == -2)
        return 0;
    if (fd < 0)
        return -1;
    char addr[SERVER_ADDR_MAX];
    listen_addr_text(ai, port, addr, sizeof(addr));
    int rc = ai->ai_socktype == SOCK_DGRAM ? listen_add_udp(srv, fd, addr)
                                           : listen_add_tcp(srv, fd, LISTENER_TCP, mode, addr);
    if (rc != 0) {
        close(fd);
        snprintf(err, errlen, "out of memory");
    }
    return rc;
}

/* memcached's listener TLS modes: valid only with TLS, which is not built in. */
static const char *const listen_tls_modes[] = { "notls", "btls", "mtls" };

/* memcached's -l proto[...] names and what they select here. */
static const struct {
    const char *name;
    enum proto_mode mode;
} listen_protos[] = {
    { "ascii", PROTO_MODE_ASCII },
    { "binary", PROTO_MODE_BINARY },
    { "negotiating", PROTO_MODE_AUTO },
};
#define LISTEN_PROTOS_N (sizeof(listen_protos) / sizeof(listen_protos[0]))
#define LISTEN_PROTO_PREFIX "proto["
#define LISTEN_PROTO_PROXY "proxy"
#define LISTEN_TAG_PREFIX "tag"
#define LISTEN_TAG_MAX 8              /* memcached: 1 to 8 characters */

static bool listen_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "name]:" at *p: cuts the name out and moves *p past the ':' (as memcached,
 * the character after the closing mark is assumed to be one). */
static char *listen_bracketed(char **p, char close_mark)
{
    char *name = *p, *end = strchr(name, close_mark);
    if (end == NULL)
        return NULL;
    *end = '\0';
    *p = end[1] != '\0' ? end + 2 : end + 1;
    return name;
}

/* proto[ascii|binary|negotiating]: the listener's protocol instead of -B. */
static int listen_parse_proto(char **p, enum proto_mode *mode, char *err, size_t errlen)
{
    if (!listen_starts(*p, LISTEN_PROTO_PREFIX))
        return 0;
    *p += strlen(LISTEN_PROTO_PREFIX);
    const char *name = listen_bracketed(p, ']');
    if (name == NULL) {
        snprintf(err, errlen, "-l: invalid protocol spec: \"%s\"", *p);
        return -1;
    }
    for (size_t i = 0; i < LISTEN_PROTOS_N; i++)
        if (strcmp(name, listen_protos[i].name) == 0) {
            *mode = listen_protos[i].mode;
            return 0;
        }
    if (strcmp(name, LISTEN_PROTO_PROXY) == 0)
        snprintf(err, errlen, "-l: proto[%s]: the proxy is not built into %s", name,
                 PACKAGE_NAME);
    else
        snprintf(err, errlen, "-l: unknown protocol '%s' (ascii, binary or negotiating)", name);
    return -1;
}

/* tag[name]: or tag_name_: names a listener for memcached's proxy routes;
 * checked as memcached checks it, then unused (no proxy here). */
static int listen_parse_tag(char **p, char *err, size_t errlen)
{
    size_t n = strlen(LISTEN_TAG_PREFIX);
    if (!listen_starts(*p, LISTEN_TAG_PREFIX) || ((*p)[n] != '[' && (*p)[n] != '_'))
        return 0;
    char close_mark = (*p)[n] == '[' ? ']' : '_';
    *p += n + 1;
    const char *tag = listen_bracketed(p, close_mark);
    if (tag == NULL || *tag == '\0' || strlen(tag) > LISTEN_TAG_MAX) {
        snprintf(err, errlen, "-l: listener tags must be between 1 and %d characters",
                 LISTEN_TAG_MAX);
        return -1;
    }
    return 0;
}

/* memcached's prefixes of a -l entry: [notls:|btls:|mtls:][proto[x]:][tag[x]:]. */
static int listen_parse_prefixes(char **p, enum proto_mode *mode, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(listen_tls_modes) / sizeof(listen_tls_modes[0]); i++)
        if (listen_starts(*p, listen_tls_modes[i])) {
            snprintf(err, errlen, "-l: '%s': TLS is not built into %s", listen_tls_modes[i],
                     PACKAGE_NAME);
            return -1;
        }
    if (listen_parse_proto(p, mode, err, errlen) != 0)
        return -1;
    return listen_parse_tag(p, err, errlen);
}

/*
 * Splits one -l entry, "host", "host:port" or "[v6]:port", in place: returns
 * the host ("" for all interfaces) and sets *port to the entry's port, or to
 * NULL when it names none. NULL for a malformed entry.
 */
static char *listen_spec_split(char *spec, char **port)
{
    char *host = spec;
    *port = NULL;
    if (*host == '[') {
        char *close_br = strchr(host, ']');
        if (close_br == NULL)
            return NULL;
        *close_br = '\0';
        host++;
        if (close_br[1] == ':')
            *port = close_br + 2;
    } else {
        char *colon = strchr(host, ':');
        if (colon != NULL && strchr(colon + 1, ':') == NULL) {
            *colon = '\0';
            *port = colon + 1;
        }
    }
    return host;
}

/*
 * One -l entry: memcached's prefixes (above), then "host", "host:port",
 * "[v6]:port" or "*" (all interfaces). For TCP the entry's port overrides
 * -p; UDP always uses -U.
 */
static int listen_one(struct server *srv, char *spec, int socktype, char *err, size_t errlen)
{
    bool udp = socktype == SOCK_DGRAM;
    char port[LISTEN_PORT_TEXT_MAX];
    snprintf(port, sizeof(port), "%llu",
             (unsigned long long)(udp ? srv->settings.udp_port : srv->settings.port));
    enum proto_mode mode = srv->settings.protocol;
    char *host = spec;
    if (listen_parse_prefixes(&host, &mode, err, errlen) != 0)
        return -1;
    char *spec_port;
    host = listen_spec_split(host, &spec_port);
    if (host == NULL) {
        snprintf(err, errlen, "-l: bad address '%s'", spec);
        return -1;
    }
    if (spec_port != NULL && !udp)
        snprintf(port, sizeof(port), "%s", spec_port);
    struct addrinfo hints = { .ai_flags = AI_PASSIVE, .ai_family = AF_UNSPEC,
                              .ai_socktype = socktype };
    struct addrinfo *res = NULL;
    bool any = *host == '\0' || strcmp(host, LISTEN_ANY) == 0;
    int rc = getaddrinfo(any ? NULL : host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "-l: cannot use '%s': %s", *host ? host : "*", gai_strerror(rc));
        return -1;
    }
    unsigned portnum = (unsigned)strtoul(port, NULL, 10);
    size_t before = udp ? srv->nudp : srv->nlisteners;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        if (listen_add(srv, ai, portnum, mode, err, errlen) != 0) {
            freeaddrinfo(res);
            return -1;
        }
    freeaddrinfo(res);
    if ((udp ? srv->nudp : srv->nlisteners) == before) {
        snprintf(err, errlen, "-l: no usable address for '%s'", *host ? host : "*");
        return -1;
    }
    return 0;
}

/* Every -l entry (or all interfaces) for one socket type. */
static int listen_network(struct server *srv, int socktype, char *err, size_t errlen)
{
    const char *list = srv->settings.listen != NULL ? srv->settings.listen : "";
    char *copy = strdup(list), *save = NULL;
    if (copy == NULL)
        return -1;
    int rc = 0;
    if (*copy == '\0') {
        rc = listen_one(srv, copy, socktype, err, errlen);
    } else {
        for (char *spec = strtok_r(copy, LISTEN_SEPARATORS, &save); rc == 0 && spec != NULL;
             spec = strtok_r(NULL, LISTEN_SEPARATORS, &save))
            rc = listen_one(srv, spec, socktype, err, errlen);
    }
    free(copy);
    return rc;
}

/*
 * The metrics endpoint's sockets (server/metrics.c): TCP on port at the host
 * of the first -l entry (every address it resolves to), on all interfaces
 * without -l, or on 127.0.0.1 when -s replaces the network. Bound here, with
 * the cache's sockets, so a busy port fails the start. Returns the count of
 * sockets written to fds, -1 on error (err set).
 */
int listeners_open_port(struct server *srv, unsigned port, int *fds, size_t cap, char *err,
                        size_t errlen)
{
    const char *first = srv->settings.unix_socket != NULL ? LISTEN_LOOPBACK
                        : srv->settings.listen != NULL ? srv->settings.listen : "";
    char *copy = strndup(first, strcspn(first, LISTEN_SEPARATORS));
    char *spec_port, *host = copy;
    enum proto_mode mode = srv->settings.protocol;
    if (host != NULL && listen_parse_prefixes(&host, &mode, err, errlen) != 0) {
        free(copy);
        return -1;
    }
    host = host != NULL ? listen_spec_split(host, &spec_port) : NULL;
    if (host != NULL && strcmp(host, LISTEN_ANY) == 0)
        host[0] = '\0';
    char port_text[LISTEN_PORT_TEXT_MAX];
    snprintf(port_text, sizeof(port_text), "%u", port);
    struct addrinfo hints = { .ai_flags = AI_PASSIVE, .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    int rc = host == NULL ? EAI_NONAME
                          : getaddrinfo(*host != '\0' ? host : NULL, port_text, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen on '%s' port %u: %s", first, port, gai_strerror(rc));
        free(copy);
        return -1;
    }
    int n = 0;
    for (struct addrinfo *ai = res; ai != NULL && (size_t)n < cap; ai = ai->ai_next) {
        int fd = listen_bind(srv, ai, port, err, errlen);
        if (fd == -1) {
            while (n > 0)
                close(fds[--n]);
            n = -1;
            break;
        }
        if (fd >= 0)
            fds[n++] = fd;
    }
    freeaddrinfo(res);
    free(copy);
    if (n == 0)
        snprintf(err, errlen, "no usable address for '%s' port %u", first, port);
    return n > 0 ? n : -1;
}

/* ------------------------------------------------------------ UNIX socket */

static void listen_unix_addr(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", path);   /* length checked by settings */
}

/* True when a server accepts connections on the socket file at path. */
static bool listen_unix_alive(const char *path)
{
    struct sockaddr_un sa;
    listen_unix_addr(path, &sa);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool alive = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return alive;
}

/* A socket file nobody serves is a leftover: remove it. Anything else stays. */
static int listen_unix_clear(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode))
        return 0;   /* bind() reports it as in use */
    if (listen_unix_alive(path)) {
        snprintf(err, errlen, "failed to listen on UNIX socket %s: a server is listening there",
                 path);
        return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot remove the stale UNIX socket %s: %s", path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* The path to unlink at exit: absolute, since -d changes directory to /. */
static char *listen_unix_abs(const char *path)
{
    if (*path == '/')
        return strdup(path);
    char *cwd = getcwd(NULL, 0), *abs = NULL;
    if (cwd != NULL && asprintf(&abs, "%s/%s", cwd, path) < 0)
        abs = NULL;
    free(cwd);
    return abs;
}

static int listen_unix(struct server *srv, char *err, size_t errlen)
{
    const char *path = srv->settings.unix_socket;
    if (listen_unix_clear(path, err, errlen) != 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket(AF_UNIX): %s", strerror(errno));
        return -1;
    }
    struct sockaddr_un sa;
    listen_unix_addr(path, &sa);
    /* Single-threaded here, so the process umask may be borrowed for bind(). */
    mode_t old = umask((mode_t)(~srv->settings.unix_mask & LISTEN_MODE_BITS));
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = errno;
    umask(old);
    if (rc != 0 || listen(fd, (int)srv->settings.backlog) != 0) {
        e = rc != 0 ? e : errno;
        close(fd);
        snprintf(err, errlen, "failed to listen on UNIX socket %s: %s", path, strerror(e));
        return -1;
    }
    srv->unix_path = listen_unix_abs(path);
    char addr[SERVER_ADDR_MAX];
    snprintf(addr, sizeof(addr), "unix:%s", path);
    if (srv->unix_path == NULL ||
        listen_add_tcp(srv, fd, LISTENER_UNIX, srv->settings.protocol, addr) != 0) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int listeners_open(struct server *srv, char *err, size_t errlen)
{
    if (srv->settings.unix_socket != NULL)
        return listen_unix(srv, err, errlen);
    /* -p 0: no TCP, as memcached (the settings check asked for -U then) */
    if (srv->settings.port != 0 && listen_network(srv, SOCK_STREAM, err, errlen) != 0)
        return -1;
    if (srv->settings.udp_port != 0 && listen_network(srv, SOCK_DGRAM, err, errlen) != 0)
        return -1;
    return 0;
}

/* -------------------------------------------------------------- accepting */

static void listen_reject(struct server *srv, int fd)
{
    ssize_t n = write(fd, LISTEN_REJECT_MSG, sizeof(LISTEN_REJECT_MSG) - 1);
    (void)n;
    close(fd);
    counter_inc(&srv->rejected_conns);
    log_info("Too many open connections\n");
}

static void listen_set_events(struct server *srv, bool on)
{
    for (size_t i = 0; i < srv->nlisteners; i++) {
        struct listener *l = &srv->listeners[i];
        if (l->ev == NULL)
            continue;
        if (on)
            event_add(l->ev, NULL);
        else
            event_del(l->ev);
    }
}

static void listen_resume(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    if (atomic_load(&srv->stopping))
        return;
    counter_add(&srv->time_in_listen_disabled_us,
                listen_now_us() - srv->listen_disabled_since_us);
    atomic_store(&srv->accepting, true);
    listen_set_events(srv, true);
    log_info("Accepting connections again\n");
}

/* Stops watching the listeners for a while (out of descriptors, or at -c
 * under no_maxconns_fast): waiting clients stay in the kernel's backlog. */
static void listen_pause(struct server *srv, const char *why)
{
    if (!atomic_load(&srv->accepting))
        return;
    log_error("%s; pausing accepting for %d ms\n", why, LISTEN_EMFILE_PAUSE_MS);
    atomic_store(&srv->accepting, false);
    counter_inc(&srv->listen_disabled_num);
    srv->listen_disabled_since_us = listen_now_us();
    listen_set_events(srv, false);
    struct timeval tv = { 0, LISTEN_EMFILE_PAUSE_MS * US_PER_MS };
    if (srv->accept_resume_ev == NULL || event_add(srv->accept_resume_ev, &tv) != 0)
        listen_resume(-1, 0, srv);   /* cannot wait: better spin than stop serving */
}

static void listen_accept(evutil_socket_t lfd, short what, void *arg)
{
    struct listener *l = arg;
    struct server *srv = l->srv;
    for (;;) {
        bool full = atomic_load(&srv->curr_conns) >= srv->settings.maxconns;
        if (full && !srv->settings.maxconns_fast) {
            listen_pause(srv, "Too many open connections");
            return;
        }
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                listen_pause(srv, strerror(errno));
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                     errno != ECONNABORTED)
                log_info("accept(): %s\n", strerror(errno));
            return;
        }
        if (full) {
            listen_reject(srv, fd);
            continue;
        }
        atomic_fetch_add(&srv->curr_conns, 1);
        counter_inc(&srv->total_conns);
        if (l->kind == LISTENER_TCP) {
            int on = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        }
        workers_dispatch(srv, fd, l);
    }
}

int listeners_arm(struct server *srv)
{
    atomic_store(&srv->accepting, true);
    srv->accept_resume_ev = evtimer_new(srv->base, listen_resume, srv);
    if (srv->accept_resume_ev == NULL)
        return -1;
    for (size_t i = 0; i < srv->nlisteners; i++) {
        struct listener *l = &srv->listeners[i];
        l->srv = srv;
        l->ev = event_new(srv->base, l->fd, EV_READ | EV_PERSIST, listen_accept, l);
        if (l->ev == NULL || event_add(l->ev, NULL) != 0)
            return -1;
        log_debug("<%d server listening (%s)\n", l->fd,
                  proto_mode_name(srv->env.mode, PROTO_NAME_STAT));
    }
    for (size_t i = 0; i < srv->nudp; i++)
        log_debug("<%d server listening (udp)\n", srv->udp[i].fd);
    /* memcached counts a connection for each listener and each worker's UDP watch */
    counter_add(&srv->total_conns, srv->nlisteners + (uint64_t)srv->nudp * srv->nworkers);
    return 0;
}

void listeners_pause(struct server *srv)
{
    listen_set_events(srv, false);
    if (srv->accept_resume_ev != NULL)
        event_del(srv->accept_resume_ev);
}

void listeners_close(struct server *srv)
{
    for (size_t i = 0; i < srv->nlisteners; i++) {
        struct listener *l = &srv->listeners[i];
        if (l->ev != NULL)
            event_free(l->ev);
        close(l->fd);
    }
    for (size_t i = 0; i < srv->nudp; i++)
        close(srv->udp[i].fd);
    if (srv->accept_resume_ev != NULL)
        event_free(srv->accept_resume_ev);
    srv->accept_resume_ev = NULL;
    if (srv->unix_path != NULL && unlink(srv->unix_path) != 0)
        log_info("cannot remove the UNIX socket %s: %s\n", srv->unix_path, strerror(errno));
    free(srv->unix_path);
    srv->unix_path = NULL;
    free(srv->listeners);
    srv->listeners = NULL;
    srv->nlisteners = 0;
    free(srv->udp);
    srv->udp = NULL;
    srv->nudp = 0;
}
