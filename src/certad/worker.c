/* A worker: one thread running one event loop with its own listening
 * sockets (SO_REUSEPORT: the kernel's hash spreads connections over the
 * workers, or with cpu_affinity each goes to its CPU's worker, cpu.c),
 * its own evhttp instances (plain and TLS) and its own CA handle. The main
 * thread talks to it only through events: swap (reload), stop (shutdown). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include "certad.h"

#define MAX_HEADERS (16 * 1024)

/* A revocation through this worker's handle reaches every started service. */
static void on_revoked(certa_ca *ca, const char *serial, void *arg)
{
    struct certad_worker *w = arg;
    (void)ca;
    for (size_t i = 0; i < w->gen->n; i++)
        if (w->gen->svc[i]->revoked != NULL)
            w->gen->svc[i]->revoked(w->gen->state[i], serial);
}

static void apply_limits(struct certad_worker *w)
{
    const struct certad_config *c = w->gen->cfg;
    struct evhttp *hs[2] = { w->http, w->https };
    for (int i = 0; i < 2; i++) {
        if (hs[i] == NULL)
            continue;
        evhttp_set_timeout(hs[i], c->idle_timeout);
        evhttp_set_max_body_size(hs[i], (ev_ssize_t)c->max_body);
        /* SCEP sends its message base64-encoded in the query of a GET. */
        evhttp_set_max_headers_size(hs[i], (ev_ssize_t)(MAX_HEADERS + 2 * c->max_body));
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct certad_worker *w = arg;
    (void)fd;
    (void)what;
    for (size_t i = 0; i < w->gen->n; i++)
        if (w->gen->svc[i]->tick != NULL)
            w->gen->svc[i]->tick(w->gen->state[i], w->ca);
}

static void on_swap(struct certad_worker *w)
{
    pthread_mutex_lock(&w->lock);
    certa_ca *ca = w->next_ca;
    struct certad_gen *gen = w->next_gen;
    w->next_ca = NULL;
    w->next_gen = NULL;
    pthread_mutex_unlock(&w->lock);
    certad_logbuf_flush(w->logbuf);     /* lines of the old generation first */
    if (gen != NULL) {
        struct certad_gen *old = w->gen;
        w->gen = gen;
        apply_limits(w);
        certad_gen_unref(old);
    }
    if (ca != NULL) {
        certa_ca_free(w->ca);
        w->ca = ca;
        certa_ca_set_revoke_hook(ca, on_revoked, w);
    }
}

static void on_bind(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    certad_limits_bind(arg);
}

/* While stopping: leave the loop once no request is in flight. */
static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    struct certad_worker *w = arg;
    struct timeval now;
    (void)fd;
    (void)what;
    event_base_gettimeofday_cached(w->base, &now);
    if (w->busy <= 0 || timercmp(&now, &w->drain_until, >=))
        event_base_loopbreak(w->base);
}

static void on_stop(struct certad_worker *w)
{
    if (w->stopping)
        return;
    w->stopping = 1;
    for (size_t i = 0; i < w->n_bound; i++)
        evhttp_del_accept_socket(w->bound_http[i], w->bound[i]);
    w->n_bound = 0;
    if (w->tick_ev)
        event_del(w->tick_ev);
    struct timeval now, grace = { w->gen->cfg->shutdown_grace, 0 }, poll = { 0, 50 * 1000 };
    event_base_gettimeofday_cached(w->base, &now);
    timeradd(&now, &grace, &w->drain_until);
    event_add(w->drain_ev, &poll);
    on_drain(-1, 0, w);
}

/* The main thread asked for something: a new generation, or to stop. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct certad_worker *w = arg;
    uint64_t n;
    (void)what;
    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    on_swap(w);
    if (atomic_load(&w->stop_asked))
        on_stop(w);
}

static void wake(struct certad_worker *w)
{
    uint64_t one = 1;
    if (w->wake_fd >= 0 && write(w->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        certad_log("error", "worker=%d cannot be woken: %s", w->id, strerror(errno));
}

static void describe(const struct certad_listen *l, char *buf, size_t len)
{
    snprintf(buf, len, strchr(l->host, ':') ? "[%s]:%s" : "%s:%s", l->host, l->port);
}

/* A listening socket for one address. SO_REUSEPORT lets every worker bind
 * its own; a probe without it first makes sure no other process listens
 * there already (it would silently share the port otherwise). */
static int listen_socket(const struct certad_listen *l, int probe, evutil_socket_t *out)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *ai = NULL;
    char where[96];
    int one = 1, fd = -1, rc;
    describe(l, where, sizeof(where));
    if ((rc = getaddrinfo(l->host, l->port, &hints, &ai)) != 0)
        return certa_error_set(CERTA_EINVAL, "cannot listen on %s: %s", where, gai_strerror(rc));
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (!probe && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
        goto fail;
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0)
        goto fail;
    freeaddrinfo(ai);
    *out = fd;
    return 0;
fail:
    rc = certa_error_set(CERTA_EIO, "cannot listen on %s: %s", where, strerror(errno));
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return rc;
}

int certad_listen_probe(const struct certad_config *c)
{
    for (size_t i = 0; i < c->n_listen; i++) {
        evutil_socket_t fd;
        int rc = listen_socket(&c->listen[i], 1, &fd);
        if (rc < 0)
            return rc;
        close(fd);
    }
    return 0;
}

static struct evhttp *http_new(struct certad_worker *w, struct certad_front *f)
{
    struct evhttp *h = evhttp_new(w->base);
    if (h == NULL)
        return NULL;
    evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                      EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_gencb(h, certad_http_request_cb, f);
    evhttp_set_bevcb(h, certad_limits_bevcb, f);
    return h;
}

int certad_worker_init(struct certad_worker *w, int id, certa_ca *ca, struct certad_gen *gen,
                       const struct certad_cpu_plan *cpu)
{
    const struct certad_config *c = gen->cfg;
    int rc = CERTA_ENOMEM;
    memset(w, 0, sizeof(*w));
    w->id = id;
    w->cpu = cpu;
    w->ca = ca;
    w->gen = certad_gen_ref(gen);
    pthread_mutex_init(&w->lock, NULL);
    certa_ca_set_revoke_hook(ca, on_revoked, w);
    w->wake_fd = -1;
    w->front_http = (struct certad_front){ .w = w, .tls = 0 };
    w->front_https = (struct certad_front){ .w = w, .tls = 1 };
    /* epoll's changelist folds the read/write toggling evhttp does around
     * every response into at most one epoll_ctl per loop turn. */
    struct event_config *ec = event_config_new();
    if (ec != NULL) {
        event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        /* Only this worker's thread uses its loop (see wake_fd): no lock
         * to take and release a dozen times a request. */
        event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
        w->base = event_base_new_with_config(ec);
        event_config_free(ec);
    }
    /* Priorities before any event exists: the log flush runs last. */
    if (w->base == NULL || event_base_priority_init(w->base, CERTAD_PRIORITIES) < 0 ||
        (w->logbuf = certad_logbuf_new(w->base)) == NULL || (w->http = http_new(w, &w->front_http)) == NULL)
        goto nomem;
    for (size_t i = 0; i < c->n_listen; i++)
        if (c->listen[i].tls && w->https == NULL && (w->https = http_new(w, &w->front_https)) == NULL)
            goto nomem;
    apply_limits(w);
    for (size_t i = 0; i < c->n_listen; i++) {
        evutil_socket_t fd;
        if ((rc = listen_socket(&c->listen[i], 0, &fd)) < 0)
            return rc;
        struct evhttp *h = c->listen[i].tls ? w->https : w->http;
        /* evhttp owns the socket from here: closed when it lets go of it. */
        struct evhttp_bound_socket *b = evhttp_accept_socket_with_handle(h, fd);
        if (b == NULL) {
            close(fd);
            goto nomem;
        }
        /* The first socket of each address sets the group's choice; the
         * others join it in worker order, which the choice counts on.
         * Without it the kernel's hash spreads connections: still served. */
        if (id == 0 && certad_cpu_steer(cpu, fd) < 0)
            certad_log("warn", "%s", certa_error_last());
        w->bound[w->n_bound] = b;
        w->bound_http[w->n_bound++] = h;
    }
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->wake_fd < 0)
        return certa_error_set(CERTA_EIO, "worker %d: eventfd: %s", id, strerror(errno));
    w->wake_ev = event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST, on_wake, w);
    w->bind_ev = event_new(w->base, -1, 0, on_bind, w);
    w->drain_ev = event_new(w->base, -1, EV_PERSIST, on_drain, w);
    if (!w->wake_ev || !w->bind_ev || !w->drain_ev || event_add(w->wake_ev, NULL) < 0)
        goto nomem;
    if (id == 0) {
        struct timeval sec = { 1, 0 };
        if ((w->tick_ev = event_new(w->base, -1, EV_PERSIST, on_tick, w)) == NULL ||
            event_add(w->tick_ev, &sec) < 0)
            goto nomem;
    }
    return 0;
nomem:
    return certa_error_set(CERTA_ENOMEM, "out of memory setting up worker %d", id);
}

/* Closes the remaining connections (their close callbacks run). */
static void worker_cleanup(struct certad_worker *w)
{
    if (w->http != NULL)
        evhttp_free(w->http);
    if (w->https != NULL)
        evhttp_free(w->https);
    w->http = w->https = NULL;
    certad_limits_free_all(w);
}

static void *worker_main(void *arg)
{
    struct certad_worker *w = arg;
    certad_logbuf_attach(w->logbuf);
    certad_cpu_pin(w->cpu, w->id);
    event_base_dispatch(w->base);
    worker_cleanup(w);
    certad_logbuf_free(w->logbuf);      /* writes what is left */
    w->logbuf = NULL;
    return NULL;
}

int certad_worker_start(struct certad_worker *w)
{
    int e = pthread_create(&w->thread, NULL, worker_main, w);
    if (e != 0)
        return certa_error_set(CERTA_EIO, "cannot start worker %d: %s", w->id, strerror(e));
    w->started = 1;
    return 0;
}

void certad_worker_swap(struct certad_worker *w, certa_ca *ca, struct certad_gen *gen)
{
    pthread_mutex_lock(&w->lock);
    if (w->next_ca != NULL)
        certa_ca_free(w->next_ca);
    if (w->next_gen != NULL)
        certad_gen_unref(w->next_gen);
    w->next_ca = ca;
    w->next_gen = gen;
    pthread_mutex_unlock(&w->lock);
    wake(w);
}

void certad_worker_stop(struct certad_worker *w)
{
    atomic_store(&w->stop_asked, 1);
    wake(w);
}

/* Joins the thread (if it ran) and frees everything the worker owns. */
void certad_worker_join(struct certad_worker *w)
{
    if (w->started)
        pthread_join(w->thread, NULL);
    else
        worker_cleanup(w);
    certad_logbuf_free(w->logbuf);
    struct event *evs[] = { w->tick_ev, w->wake_ev, w->drain_ev, w->bind_ev };
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i] != NULL)
            event_free(evs[i]);
    if (w->base != NULL)
        event_base_free(w->base);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    certa_ca_free(w->next_ca);
    certad_gen_unref(w->next_gen);
    certa_ca_free(w->ca);
    certad_gen_unref(w->gen);
    pthread_mutex_destroy(&w->lock);
    memset(w, 0, sizeof(*w));
}
