/*
 * listen: the TCP listening sockets (-l, -p, -b) and accepting.
 *
 * Sockets are opened and bound before the process daemonizes or drops
 * privileges, so a busy port is reported on the terminal with a non-zero
 * exit, and ports below 1024 work with -u. Accepting runs on the main
 * thread: each new socket is counted against -c (beyond it the client gets
 * memcached's "ERROR Too many open connections" and is closed at once), made
 * non-blocking with TCP_NODELAY, and handed to a worker.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/util.h>

#include "common/log.h"
#include "server/server.h"

#define LISTEN_REJECT_MSG "ERROR Too many open connections\r\n"
#define LISTEN_PORT_TEXT_MAX 8

static int listen_add(struct server *srv, const struct addrinfo *ai, char *err, size_t errlen)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd < 0) {
        if (errno == EAFNOSUPPORT)
            return 0;   /* e.g. no IPv6 on this host: the other family serves */
        snprintf(err, errlen, "socket(): %s", strerror(errno));
        return -1;
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        listen(fd, (int)srv->settings.backlog) != 0) {
        int e = errno;
        close(fd);
        if (e == EADDRNOTAVAIL && ai->ai_family == AF_INET6)
            return 0;
        snprintf(err, errlen, "failed to listen on TCP port %llu: %s",
                 (unsigned long long)srv->settings.port, strerror(e));
        return -1;
    }
    struct listener *l = realloc(srv->listeners, (srv->nlisteners + 1) * sizeof(*l));
    if (l == NULL) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    srv->listeners = l;
    l = &srv->listeners[srv->nlisteners++];
    memset(l, 0, sizeof(*l));
    l->fd = fd;
    char host[INET6_ADDRSTRLEN];
    const void *a = ai->ai_family == AF_INET6
                        ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                        : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
    evutil_inet_ntop(ai->ai_family, a, host, sizeof(host));
    if (ai->ai_family == AF_INET6)
        snprintf(l->addr, sizeof(l->addr), "tcp6:[%s]:%llu", host,
                 (unsigned long long)srv->settings.port);
    else
        snprintf(l->addr, sizeof(l->addr), "tcp:%s:%llu", host,
                 (unsigned long long)srv->settings.port);
    return 0;
}

/* One -l entry: "host", "host:port" or "[v6]:port" (the port overrides -p). */
static int listen_one(struct server *srv, char *spec, char *err, size_t errlen)
{
    char port[LISTEN_PORT_TEXT_MAX];
    snprintf(port, sizeof(port), "%llu", (unsigned long long)srv->settings.port);
    char *host = spec;
    if (*host == '[') {
        char *close_br = strchr(host, ']');
        if (close_br == NULL) {
            snprintf(err, errlen, "-l: bad address '%s'", spec);
            return -1;
        }
        *close_br = '\0';
        host++;
        if (close_br[1] == ':')
            snprintf(port, sizeof(port), "%s", close_br + 2);
    } else {
        char *colon = strchr(host, ':');
        if (colon != NULL && strchr(colon + 1, ':') == NULL) {
            *colon = '\0';
            snprintf(port, sizeof(port), "%s", colon + 1);
        }
    }
    struct addrinfo hints = { .ai_flags = AI_PASSIVE, .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(*host != '\0' ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "-l: cannot use '%s': %s", *host ? host : "*", gai_strerror(rc));
        return -1;
    }
    size_t before = srv->nlisteners;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        if (listen_add(srv, ai, err, errlen) != 0) {
            freeaddrinfo(res);
            return -1;
        }
    freeaddrinfo(res);
    if (srv->nlisteners == before) {
        snprintf(err, errlen, "-l: no usable address for '%s'", *host ? host : "*");
        return -1;
    }
    return 0;
}

int listeners_open(struct server *srv, char *err, size_t errlen)
{
    const char *list = srv->settings.listen != NULL ? srv->settings.listen : "";
    char *copy = strdup(list), *save = NULL;
    if (copy == NULL)
        return -1;
    int rc = 0;
    if (*copy == '\0') {
        rc = listen_one(srv, copy, err, errlen);
    } else {
        for (char *spec = strtok_r(copy, ",", &save); rc == 0 && spec != NULL;
             spec = strtok_r(NULL, ",", &save))
            rc = listen_one(srv, spec, err, errlen);
    }
    free(copy);
    return rc;
}

static void listen_reject(struct server *srv, int fd)
{
    ssize_t n = write(fd, LISTEN_REJECT_MSG, sizeof(LISTEN_REJECT_MSG) - 1);
    (void)n;
    close(fd);
    counter_inc(&srv->rejected_conns);
    log_info("Too many open connections\n");
}

static void listen_accept(evutil_socket_t lfd, short what, void *arg)
{
    struct listener *l = arg;
    struct server *srv = l->srv;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED)
                log_info("accept(): %s\n", strerror(errno));
            return;
        }
        if (atomic_load(&srv->curr_conns) >= srv->settings.maxconns) {
            listen_reject(srv, fd);
            continue;
        }
        atomic_fetch_add(&srv->curr_conns, 1);
        counter_inc(&srv->total_conns);
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        workers_dispatch(srv, fd, l->addr);
    }
}

int listeners_arm(struct server *srv)
{
    for (size_t i = 0; i < srv->nlisteners; i++) {
        struct listener *l = &srv->listeners[i];
        l->srv = srv;
        l->ev = event_new(srv->base, l->fd, EV_READ | EV_PERSIST, listen_accept, l);
        if (l->ev == NULL || event_add(l->ev, NULL) != 0)
            return -1;
        log_debug("<%d server listening (auto-negotiate)\n", l->fd);
    }
    return 0;
}

void listeners_close(struct server *srv)
{
    for (size_t i = 0; i < srv->nlisteners; i++) {
        struct listener *l = &srv->listeners[i];
        if (l->ev != NULL)
            event_free(l->ev);
        close(l->fd);
    }
    free(srv->listeners);
    srv->listeners = NULL;
    srv->nlisteners = 0;
}
