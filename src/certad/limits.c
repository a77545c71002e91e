/* Per-connection limits that evhttp does not enforce by itself. evhttp's
 * read timeout starts again with every byte, so a client sending one byte a
 * second would hold a connection forever: here each request gets a deadline
 * (header_timeout) from the moment it starts (accept, or its first byte on a
 * kept-alive connection) until it has been read completely. The same
 * bookkeeping tells graceful shutdown which connections are mid-request,
 * and closes connections over max_connections at once.
 *
 * libevent 2.1 creates the connection object itself; certad makes the
 * bufferevent (evhttp_set_bevcb), binds it to its evhttp connection in the
 * next loop turn (certad_limits_bind), and learns of its end through the
 * connection's close callback. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include "certad.h"

struct certad_conn {
    struct certad_conn *next, *prev;    /* w->conns, once bound */
    struct certad_conn *fresh_next;     /* w->fresh, until bound */
    struct certad_worker *w;
    struct bufferevent *bev;
    struct evhttp_connection *evcon;
    struct event *deadline;
    struct evbuffer_cb_entry *in_cb, *out_cb;
    evutil_socket_t fd;
    int tls;
    int busy;           /* a request may be under way: its deadline runs */
    int inflight;       /* bytes of a request arrived, its answer is not out */
    int dispatched;     /* the current request reached the handler */
    int early_status;   /* status evhttp answered by itself (400, 413) */
    int refused;        /* over max_connections: closed at once */
    int timed_out;
    struct timeval started;     /* when the current request began (loop time) */
    char remote[80];    /* the peer for log lines, formatted once */
};

/* fd -> connection of this worker, to find the connection of a request. */
static int fdmap_put(struct certad_worker *w, evutil_socket_t fd, struct certad_conn *c)
{
    if (fd < 0)
        return -1;
    if ((size_t)fd >= w->n_by_fd) {
        size_t n = w->n_by_fd ? w->n_by_fd : 256;
        while (n <= (size_t)fd)
            n *= 2;
        struct certad_conn **v = realloc(w->by_fd, n * sizeof(*v));
        if (v == NULL)
            return -1;
        memset(v + w->n_by_fd, 0, (n - w->n_by_fd) * sizeof(*v));
        w->by_fd = v;
        w->n_by_fd = n;
    }
    w->by_fd[fd] = c;
    return 0;
}

static struct certad_conn *fdmap_get(struct certad_worker *w, evutil_socket_t fd)
{
    return fd >= 0 && (size_t)fd < w->n_by_fd ? w->by_fd[fd] : NULL;
}

/* What graceful shutdown waits for: requests that have begun to arrive.
 * A connection that sent nothing yet is not worth waiting for. */
static void set_inflight(struct certad_conn *c, int inflight)
{
    if (c->inflight == inflight)
        return;
    c->inflight = inflight;
    c->w->busy += inflight ? 1 : -1;
}

/* A request's deadline is its start plus header_timeout. The timer is not
 * set and cleared for every request of a kept-alive connection: once set
 * it stays until it fires, and then looks at the request under way, if
 * any, and sets itself again for that one's deadline. */
static void arm_deadline(struct certad_conn *c, const struct timeval *now)
{
    struct timeval limit = { c->w->gen->cfg->header_timeout, 0 }, due, left;
    timeradd(&c->started, &limit, &due);
    if (timercmp(&due, now, <=))
        timerclear(&left);
    else
        timersub(&due, now, &left);
    evtimer_add(c->deadline, &left);
}

static void set_busy(struct certad_conn *c, int busy)
{
    if (c->busy == busy)
        return;
    c->busy = busy;
    if (busy) {
        c->dispatched = 0;
        c->early_status = 0;
        event_base_gettimeofday_cached(c->w->base, &c->started);
        if (!evtimer_pending(c->deadline, NULL))
            arm_deadline(c, &c->started);
    }
}

static void conn_free(struct certad_conn *c)
{
    if (c->in_cb != NULL)
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
    if (c->out_cb != NULL)
        evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
    set_busy(c, 0);
    set_inflight(c, 0);
    c->w->n_conns--;
    if (c->deadline != NULL)
        event_free(c->deadline);
    free(c);
}

/* The connection ends: a request that never reached the handler still
 * gets its log line (evhttp's own 400/413, the deadline, a client gone). */
static void on_close(struct evhttp_connection *evcon, void *arg)
{
    struct certad_conn *c = arg;
    struct certad_worker *w = c->w;
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    if (c->busy && !c->dispatched && (c->early_status || c->timed_out)) {
        char remote[80];
        certad_remote(evcon, remote, sizeof(remote));
        struct certad_logrec r = {
            .worker = w->id, .remote = remote, .method = "-", .path = "-", .tls = c->tls,
            .status = c->timed_out ? 408 : c->early_status,
            .detail = c->timed_out ? "request not complete within header_timeout, connection closed"
                      : c->early_status == 413 ? "body over max_body, not passed to any service"
                                               : "request refused by the HTTP parser",
        };
        certad_log_request(&r);
    }
    if (c->tls && c->busy && !c->dispatched && !c->timed_out && !c->refused) {
        SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
        if (ssl != NULL && !SSL_is_init_finished(ssl)) {
            unsigned long e = bufferevent_get_openssl_error(c->bev);
            const char *why = e ? ERR_reason_error_string(e) : NULL;
            char remote[80];
            certad_remote(evcon, remote, sizeof(remote));
            certad_log("info", "worker=%d remote=%s TLS handshake failed: %s", w->id, remote,
                       why ? why : "connection closed");
        }
    }
    if (fdmap_get(w, c->fd) == c)
        fdmap_put(w, c->fd, NULL);
    if (c->prev)
        c->prev->next = c->next;
    else if (w->conns == c)
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    conn_free(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct certad_conn *c = arg;
    (void)fd;
    (void)what;
    if (!c->busy || c->dispatched)
        return;     /* the next request sets it again */
    struct timeval now;
    event_base_gettimeofday_cached(c->w->base, &now);
    struct timeval limit = { c->w->gen->cfg->header_timeout, 0 }, due;
    timeradd(&c->started, &limit, &due);
    if (c->evcon == NULL) {         /* not bound yet (next loop turn): look again */
        struct timeval soon = { 0, 100 * 1000 };
        evtimer_add(c->deadline, &soon);
        return;
    }
    if (timercmp(&now, &due, <)) {
        arm_deadline(c, &now);      /* a later request than the one it was set for */
        return;
    }
    c->timed_out = 1;
    /* Shut the socket: evhttp sees end-of-file on its next read and tears
     * the connection down through its own path (and our close callback). */
    shutdown(c->fd, SHUT_RDWR);
}

/* Bytes arrived: on an idle kept-alive connection a new request starts.
 * The callback is wanted only for that first byte: it takes itself off the
 * buffer (evhttp adds and drains the input a dozen times a request, and a
 * buffer without callbacks skips invoking them) until on_complete. */
static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct certad_conn *c = arg;
    if (info->n_added > 0) {
        set_busy(c, 1);
        set_inflight(c, 1);
        evbuffer_remove_cb_entry(buf, c->in_cb);
        c->in_cb = NULL;
    }
}

/* evhttp writes a response by itself (400, 413) when it refuses a request
 * before the handler sees it; keep its status for the log line. */
static void on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct certad_conn *c = arg;
    char line[13];
    if (info->n_added == 0 || c->dispatched || c->early_status || evbuffer_get_length(buf) < 12)
        return;
    if (evbuffer_copyout(buf, line, 12) != 12)
        return;
    line[12] = '\0';
    int status = 0;
    if (strncmp(line, "HTTP/1.", 7) == 0 && line[8] == ' ')
        status = atoi(line + 9);
    if (status >= 200)
        c->early_status = status;
}

struct bufferevent *certad_limits_bevcb(struct event_base *base, void *arg)
{
    struct certad_front *f = arg;
    struct certad_worker *w = f->w;
    struct bufferevent *bev;
    if (f->tls) {
        SSL *ssl = SSL_new(w->gen->tls);
        if (ssl == NULL)
            return NULL;
        bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE);
        if (bev == NULL) {
            SSL_free(ssl);
            return NULL;
        }
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    } else {
        bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (bev == NULL)
            return NULL;
    }
    struct certad_conn *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->deadline = evtimer_new(base, on_deadline, c)) == NULL) {
        free(c);
        return bev;     /* served, without a deadline */
    }
    c->w = w;
    c->bev = bev;
    c->tls = f->tls;
    c->fd = -1;
    w->n_conns++;
    const struct certad_config *cfg = w->gen->cfg;
    int limit = (cfg->max_connections + cfg->workers - 1) / cfg->workers;
    if (w->n_conns > limit)
        c->refused = 1;
    /* Kept alive until bound, even if evhttp gives up on it meanwhile. */
    bufferevent_incref(bev);
    c->fresh_next = w->fresh;
    w->fresh = c;
    set_busy(c, 1);
    event_active(w->bind_ev, EV_TIMEOUT, 0);
    return bev;
}

void certad_limits_bind(struct certad_worker *w)
{
    struct certad_conn *c, *next;
    for (c = w->fresh, w->fresh = NULL; c != NULL; c = next) {
        next = c->fresh_next;
        bufferevent_data_cb rcb = NULL;
        void *arg = NULL;
        bufferevent_getcb(c->bev, &rcb, NULL, NULL, &arg);
        struct bufferevent *bev = c->bev;
        c->fd = bufferevent_getfd(bev);
        if (rcb == NULL || arg == NULL || c->fd < 0) {
            /* evhttp dropped it already (it clears the callbacks on free). */
            conn_free(c);
            bufferevent_decref(bev);
            continue;
        }
        c->evcon = arg;     /* evhttp's callback argument is its connection */
        if (c->refused) {
            /* evhttp reads end-of-file at once and frees the connection. */
            shutdown(c->fd, SHUT_RDWR);
            time_t now = time(NULL);
            if (now != w->refused_logged) {
                w->refused_logged = now;
                certad_log("warn", "worker=%d max_connections reached: closing new connections", w->id);
            }
        }
        c->in_cb = evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
        c->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), on_output, c);
        fdmap_put(w, c->fd, c);
        c->next = w->conns;
        if (w->conns)
            w->conns->prev = c;
        w->conns = c;
        evhttp_connection_set_closecb(c->evcon, on_close, c);
        bufferevent_decref(bev);
    }
}

static void on_complete(struct evhttp_request *req, void *arg)
{
    struct certad_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    (void)req;
    set_busy(c, 0);
    set_inflight(c, 0);
    if (c->out_cb != NULL)
        evbuffer_cb_set_flags(bufferevent_get_output(c->bev), c->out_cb, EVBUFFER_CB_ENABLED);
    /* A pipelined request may already wait in the buffer. */
    if (evbuffer_get_length(in) > 0) {
        set_busy(c, 1);
        set_inflight(c, 1);
    } else if (c->in_cb == NULL) {
        c->in_cb = evbuffer_add_cb(in, on_input, c);   /* NULL: no deadline, still served */
    }
}

struct certad_conn *certad_limits_dispatched(struct certad_worker *w, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (evcon == NULL)
        return NULL;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    struct certad_conn *c = fdmap_get(w, bufferevent_getfd(bev));
    if (c == NULL || c->evcon != evcon)
        return NULL;
    set_busy(c, 1);
    set_inflight(c, 1);
    c->dispatched = 1;      /* the deadline no longer applies (see on_deadline) */
    /* Until on_complete, what goes out is the handler's answer. */
    if (c->out_cb != NULL)
        evbuffer_cb_clear_flags(bufferevent_get_output(bev), c->out_cb, EVBUFFER_CB_ENABLED);
    evhttp_request_set_on_complete_cb(req, on_complete, c);
    return c;
}

void certad_limits_remote(struct certad_conn *c, struct evhttp_connection *evcon, char *buf,
                          size_t len)
{
    if (c == NULL) {
        certad_remote(evcon, buf, len);
        return;
    }
    if (c->remote[0] == '\0')
        certad_remote(evcon, c->remote, sizeof(c->remote));
    size_t n = strnlen(c->remote, sizeof(c->remote) - 1);
    if (n >= len)
        n = len - 1;
    memcpy(buf, c->remote, n);
    buf[n] = '\0';
}

/* After evhttp_free: whatever is left was never bound or never closed;
 * its bufferevent is gone, so only certad's own parts are freed. */
void certad_limits_free_all(struct certad_worker *w)
{
    struct certad_conn *c, *next;
    for (c = w->fresh, w->fresh = NULL; c != NULL; c = next) {
        next = c->fresh_next;
        struct bufferevent *bev = c->bev;
        conn_free(c);
        bufferevent_decref(bev);
    }
    while ((c = w->conns) != NULL) {
        w->conns = c->next;
        w->n_conns--;
        if (c->deadline != NULL)
            event_free(c->deadline);
        free(c);
    }
    free(w->by_fd);
    w->by_fd = NULL;
    w->n_by_fd = 0;
    w->busy = 0;
}
