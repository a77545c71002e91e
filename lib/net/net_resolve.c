/* Name lookups bounded by the fetch's deadline. getaddrinfo() blocks as long
 * as the resolver's own timeouts allow (resolv.conf: 5 s a try, two tries,
 * each name server in turn), far past a fetch's timeout when DNS is down.
 * So a name is looked up on a short-lived thread and the caller waits for
 * it at most until the deadline; a lookup that outlives the wait finishes
 * on its own and frees what it found. Address literals are parsed on the
 * spot, with no thread. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "net.h"

struct lookup {
    atomic_int refs;            /* the waiting caller's and the thread's */
    int done_fd;                /* eventfd: readable once the answer is in */
    char host[256];
    char port[8];
    struct addrinfo *res;
    int gai;
    int sys_errno;
};

static void lookup_unref(struct lookup *l)
{
    if (atomic_fetch_sub(&l->refs, 1) != 1)
        return;
    if (l->res != NULL)
        freeaddrinfo(l->res);
    close(l->done_fd);
    free(l);
}

static void *lookup_run(void *arg)
{
    struct lookup *l = arg;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
    l->gai = getaddrinfo(l->host, l->port, &hints, &l->res);
    l->sys_errno = errno;
    uint64_t one = 1;
    if (write(l->done_fd, &one, sizeof(one)) < 0) {
        /* An eventfd write of 1 cannot fail; the caller would time out. */
    }
    lookup_unref(l);
    return NULL;
}

static int lookup_failed(const struct certa_net_ctx *ctx, const char *what, const char *host, int gai, int err)
{
    return certa_error_set(CERTA_ENET, "%s: cannot resolve the %shost %s: %s", ctx->url, what, host,
                           gai == EAI_SYSTEM ? strerror(err) : gai_strerror(gai));
}

/* Starts the lookup thread; the caller then holds one reference. */
static int lookup_start(const struct certa_net_ctx *ctx, const char *host, const char *port, struct lookup **out)
{
    struct lookup *l = calloc(1, sizeof(*l));
    pthread_attr_t attr;
    pthread_t tid;
    *out = NULL;
    if (l == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    if (strlen(host) >= sizeof(l->host) || strlen(port) >= sizeof(l->port)) {
        free(l);
        return certa_error_set(CERTA_ENET, "%s: host name too long", ctx->url);
    }
    strcpy(l->host, host);
    strcpy(l->port, port);
    atomic_init(&l->refs, 2);
    if ((l->done_fd = eventfd(0, EFD_CLOEXEC)) < 0) {
        int err = errno;
        free(l);
        return certa_error_set(CERTA_ENET, "%s: cannot look up %s: %s", ctx->url, host, strerror(err));
    }
    int rc = pthread_attr_init(&attr);
    if (rc == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        rc = pthread_create(&tid, &attr, lookup_run, l);
        pthread_attr_destroy(&attr);
    }
    if (rc != 0) {
        close(l->done_fd);
        free(l);
        return certa_error_set(CERTA_ENET, "%s: cannot look up %s: %s", ctx->url, host, strerror(rc));
    }
    *out = l;
    return 0;
}

int certa_net_resolve(const struct certa_net_ctx *ctx, const char *what, const char *host, const char *port,
                      struct addrinfo **res)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV | AI_NUMERICHOST };
    *res = NULL;
    int gai = getaddrinfo(host, port, &hints, res);
    if (gai == 0)
        return 0;
    if (gai != EAI_NONAME)
        return lookup_failed(ctx, what, host, gai, errno);
    struct lookup *l;
    int rc = lookup_start(ctx, host, port, &l);
    if (rc < 0)
        return rc;
    struct pollfd p = { .fd = l->done_fd, .events = POLLIN };
    int n;
    do {
        n = poll(&p, 1, certa_net_remaining_ms(ctx));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        int err = errno;
        lookup_unref(l);
        if (n < 0)
            return certa_error_set(CERTA_ENET, "%s: cannot look up %s: %s", ctx->url, host, strerror(err));
        return certa_error_set(CERTA_ETIMEOUT, "%s: looking up the %shost %s took longer than %ld s", ctx->url,
                               what, host, ctx->timeout_s);
    }
    /* The thread wrote the eventfd after filling these in. */
    gai = l->gai;
    int err = l->sys_errno;
    *res = l->res;
    l->res = NULL;
    lookup_unref(l);
    return gai == 0 ? 0 : lookup_failed(ctx, what, host, gai, err);
}
