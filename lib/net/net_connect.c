/* Outgoing TCP connections that leave the device the way a trustpoint's
 * route says: the socket is made inside the route's network namespace,
 * bound to its interface or VRF device and source address before connect()
 * so the kernel routes the very first packet accordingly. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "net.h"

static int set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

int64_t certa_net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int certa_net_remaining_ms(const struct certa_net_ctx *ctx)
{
    int64_t left = ctx->deadline_ms - certa_net_now_ms();
    return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

int certa_net_timeout(const struct certa_net_ctx *ctx)
{
    return certa_error_set(CERTA_ETIMEOUT, "%s: no answer within %ld s", ctx->url, ctx->timeout_s);
}

/* Creates the socket inside the route's network namespace: switch this
 * thread into it, create the socket, switch back. A socket keeps the
 * namespace it was made in, so connect() later happens there. */
static int open_socket(const struct certa_net_ctx *ctx, int family, int *fd)
{
    const char *ns = ctx->route->netns;
    const char *what = NULL;
    int home = -1, target = -1, err = 0;
    *fd = -1;
    if (!set(ns)) {
        if ((*fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
            return certa_error_set(CERTA_ENET, "%s: cannot open a socket: %s", ctx->url, strerror(errno));
        return 0;
    }
    char path[128];
    snprintf(path, sizeof(path), "/run/netns/%s", ns);
    home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    target = open(path, O_RDONLY | O_CLOEXEC);
    if (home < 0 || target < 0) {
        err = errno, what = "cannot open the network namespace";
        goto out;
    }
    if (setns(target, CLONE_NEWNET) < 0) {
        err = errno, what = "cannot enter the network namespace";
        goto out;
    }
    if ((*fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        err = errno, what = "cannot open a socket in the network namespace";
    if (setns(home, CLONE_NEWNET) < 0) {
        /* Staying in the wrong namespace would route everything after
         * this through it: refuse the socket and say so. */
        err = errno, what = "cannot return from the network namespace";
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
    }
out:
    if (home >= 0)
        close(home);
    if (target >= 0)
        close(target);
    if (what != NULL)
        return certa_error_set(CERTA_ENET, "%s: %s %s: %s", ctx->url, what, ns, strerror(err));
    return 0;
}

/* The device binding and source address; 1 when the source address has
 * another family than this destination (try the next address). */
static int bind_route(const struct certa_net_ctx *ctx, int fd, int family)
{
    const struct certa_http_route *r = ctx->route;
    const char *dev = set(r->vrf) ? r->vrf : r->interface;
    if (set(dev) && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev)) < 0)
        return certa_error_set(CERTA_ENET, "%s: cannot bind to the device %s: %s", ctx->url, dev, strerror(errno));
    if (!set(r->source_ip))
        return 0;
    struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICHOST | AI_PASSIVE };
    struct addrinfo *src = NULL;
    int gai = getaddrinfo(r->source_ip, NULL, &hints, &src);
    if (gai == EAI_ADDRFAMILY || gai == EAI_FAMILY || (gai == EAI_NONAME && family == AF_INET6)) {
        /* glibc says "unknown name" for an IPv4 literal asked as IPv6. */
        return 1;
    }
    if (gai != 0)
        return certa_error_set(CERTA_ENET, "%s: cannot use source %s: %s", ctx->url, r->source_ip,
                               gai_strerror(gai));
    int rc = 0;
    if (bind(fd, src->ai_addr, src->ai_addrlen) < 0)
        rc = certa_error_set(CERTA_ENET, "%s: cannot use source %s: %s", ctx->url, r->source_ip, strerror(errno));
    freeaddrinfo(src);
    return rc;
}

/* 0 connected, 1 refused or unreachable (errno in *err), <0 fatal. */
static int connect_one(const struct certa_net_ctx *ctx, const struct addrinfo *ai, int *fd, int *err)
{
    int rc = open_socket(ctx, ai->ai_family, fd);
    if (rc < 0)
        return rc;
    if ((rc = bind_route(ctx, *fd, ai->ai_family)) != 0) {
        *err = EAFNOSUPPORT;
        goto fail;
    }
    if (connect(*fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS) {
        *err = errno, rc = 1;
        goto fail;
    }
    struct pollfd p = { .fd = *fd, .events = POLLOUT };
    int n;
    do {
        n = poll(&p, 1, certa_net_remaining_ms(ctx));
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
        rc = certa_net_timeout(ctx);
        goto fail;
    }
    socklen_t len = sizeof(*err);
    if (n < 0 || getsockopt(*fd, SOL_SOCKET, SO_ERROR, err, &len) < 0)
        *err = errno;
    if (*err == 0)
        return 0;
    rc = 1;
fail:
    close(*fd);
    *fd = -1;
    return rc;
}

int certa_net_connect(const struct certa_net_ctx *ctx, const char *what, const char *host, const char *port,
                      int *fd)
{
    struct addrinfo *res = NULL;
    *fd = -1;
    int rc = certa_net_resolve(ctx, what, host, port, &res);
    if (rc < 0)
        return rc;
    int err = 0;
    rc = 1;
    for (const struct addrinfo *ai = res; ai != NULL && rc == 1; ai = ai->ai_next)
        rc = connect_one(ctx, ai, fd, &err);
    freeaddrinfo(res);
    if (rc == 1) {
        if (err == EAFNOSUPPORT && set(ctx->route->source_ip))
            return certa_error_set(CERTA_ENET, "%s: cannot use source %s: no address of %s%s in its family",
                                   ctx->url, ctx->route->source_ip, what, host);
        return certa_error_set(CERTA_ENET, "%s: %s%s port %s unreachable: %s", ctx->url, what, host, port,
                               strerror(err));
    }
    return rc;
}
