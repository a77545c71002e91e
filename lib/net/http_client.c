/* The device side's HTTP client: one bounded GET or POST. libevent's evhttp
 * speaks HTTP (request line and headers out; status line, headers, counted,
 * chunked or close-delimited body in). This file opens the connection along
 * the trustpoint's route (net_connect.c), through a proxy tunnel
 * (net_tunnel.c) and TLS (net_tls.c), and carries evhttp's bytes over it.
 *
 * Why a relay: libevent 2.1's evhttp_connection always makes its own socket
 * (a bufferevent handed to it must have no fd, and it closes one it finds),
 * so it cannot use a socket made in a namespace or bound to a device. It
 * connects instead to a one-shot listener on 127.0.0.1 in this process, and
 * the one connection accepted there (checked to be evhttp's own) is spliced
 * to the routed socket, TLS included, by two bufferevents. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "certa/http_client.h"
#include "certa/log.h"
#include "net.h"

#define DEFAULT_TIMEOUT_S 30
#define DEFAULT_MAX_RESPONSE (1024 * 1024)
#define MAX_HEADERS (64 * 1024)          /* status line and headers */
#define RELAY_HIGH (256 * 1024)          /* pause the server while evhttp catches up */
#define DEFAULT_PROXY_PORT "1080"        /* as curl, for a proxy URL without a port */

/* A URL taken apart for connecting and for the request line. */
struct target {
    int https;
    char host[256];         /* no brackets: for getaddrinfo and TLS */
    char port[8];
    char authority[300];    /* host[:port], IPv6 in brackets: Host header */
    char hostport[300];     /* host:port always: CONNECT */
};

struct fetch {
    struct certa_net_ctx ctx;
    struct certa_http_result *out;
    size_t max;
    struct event_base *base;
    struct event *timer;
    struct bufferevent *outer;          /* to the server or the proxy */
    SSL *ssl;                           /* outer's TLS, NULL for http */
    int tls_up;                         /* the handshake has completed */
    int outer_eof;                      /* closed, or failed: outer_error says why */
    char outer_error[200];
    int listen_fd;
    struct event *accept_ev;
    struct sockaddr_in evhttp_addr;     /* evhttp's end of the loopback hop */
    struct bufferevent *inner;          /* our end of the loopback hop */
    int inner_shut;
    struct evhttp_connection *evcon;
    struct evhttp_request *req;         /* until evhttp completes or fails it */
    int complete;
    int rc;                             /* the first failure decides */
};

static int set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

void certa_http_result_clear(struct certa_http_result *r)
{
    certa_buf_free(&r->body);
    memset(r, 0, sizeof(*r));
}

/* ---- the end of a fetch -------------------------------------------------- */

static int stopped(const struct fetch *f)
{
    return f->rc != 0 || f->complete;
}

/* rc comes straight from certa_error_set: call only when !stopped(f), so
 * the first failure's message is the one left for the caller. */
static void stop(struct fetch *f, int rc)
{
    f->rc = rc;
    event_base_loopbreak(f->base);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct fetch *f = arg;
    (void)fd, (void)what;
    if (!stopped(f))
        stop(f, certa_net_timeout(&f->ctx));
}

/* ---- the relay: evhttp <-> loopback <-> routed socket (TLS) -------------- */

/* Once the server has closed and evhttp has every byte, evhttp must see
 * the close too: it ends a close-delimited body and tells a truncated one. */
static void inner_pass_eof(struct fetch *f)
{
    if (f->inner == NULL || !f->outer_eof || f->inner_shut ||
        evbuffer_get_length(bufferevent_get_output(f->inner)) > 0)
        return;
    shutdown(bufferevent_getfd(f->inner), SHUT_WR);
    f->inner_shut = 1;
}

static void outer_read(struct bufferevent *bev, void *arg)
{
    struct fetch *f = arg;
    if (f->inner == NULL)
        return;   /* kept in bev's input until the hop is accepted */
    struct evbuffer *to = bufferevent_get_output(f->inner);
    evbuffer_add_buffer(to, bufferevent_get_input(bev));
    if (evbuffer_get_length(to) > RELAY_HIGH)
        bufferevent_disable(bev, EV_READ);
}

static void outer_event(struct bufferevent *bev, short what, void *arg)
{
    struct fetch *f = arg;
    if (what & BEV_EVENT_CONNECTED) {
        f->tls_up = 1;
        return;
    }
    if (stopped(f) || !(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
        return;
    unsigned long e = f->ssl != NULL ? bufferevent_get_openssl_error(bev) : 0;
    if (f->ssl != NULL && !f->tls_up) {
        stop(f, certa_net_tls_error(&f->ctx, f->ssl, e));
        return;
    }
    if (f->inner == NULL) {
        stop(f, certa_error_set(CERTA_ENET, "%s: the server closed the connection without answering", f->ctx.url));
        return;
    }
    /* The bytes read before the close or error may hold the whole
     * response: evhttp gets them and then the close, and judges. */
    if (what & BEV_EVENT_ERROR) {
        if (e != 0)
            ERR_error_string_n(e, f->outer_error, sizeof(f->outer_error));
        else
            snprintf(f->outer_error, sizeof(f->outer_error), "%s",
                     evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    }
    f->outer_eof = 1;
    outer_read(bev, f);
    inner_pass_eof(f);
}

static void inner_read(struct bufferevent *bev, void *arg)
{
    struct fetch *f = arg;
    evbuffer_add_buffer(bufferevent_get_output(f->outer), bufferevent_get_input(bev));
}

static void inner_drained(struct bufferevent *bev, void *arg)
{
    struct fetch *f = arg;
    (void)bev;
    if (f->outer_eof)
        inner_pass_eof(f);
    else
        bufferevent_enable(f->outer, EV_READ);
}

static void inner_event(struct bufferevent *bev, short what, void *arg)
{
    /* evhttp closing its end: whatever it means, evhttp's own callbacks
     * say it. */
    (void)bev, (void)what, (void)arg;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    struct fetch *f = arg;
    struct sockaddr_in peer;
    socklen_t len = sizeof(peer);
    (void)what;
    int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    /* Another local process could race evhttp to the port: only evhttp's
     * own socket is spliced to the server. */
    if (len != sizeof(peer) || peer.sin_port != f->evhttp_addr.sin_port ||
        peer.sin_addr.s_addr != f->evhttp_addr.sin_addr.s_addr) {
        close(fd);
        return;
    }
    event_del(f->accept_ev);
    close(f->listen_fd);
    f->listen_fd = -1;
    if ((f->inner = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
        close(fd);
        if (!stopped(f))
            stop(f, certa_error_set(CERTA_ENOMEM, "%s: out of memory", f->ctx.url));
        return;
    }
    bufferevent_setcb(f->inner, inner_read, inner_drained, inner_event, f);
    bufferevent_enable(f->inner, EV_READ | EV_WRITE);
    outer_read(f->outer, f);
    inner_pass_eof(f);
}

/* The one-shot listener evhttp connects to; *port gets its port. */
static int relay_listen(struct fetch *f, int *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(f->listen_fd, 4) < 0 || getsockname(f->listen_fd, (struct sockaddr *)&a, &len) < 0)
        return certa_error_set(CERTA_ENET, "%s: cannot listen on 127.0.0.1 for the HTTP layer: %s", f->ctx.url,
                               strerror(errno));
    f->accept_ev = event_new(f->base, f->listen_fd, EV_READ | EV_PERSIST, on_accept, f);
    if (f->accept_ev == NULL || event_add(f->accept_ev, NULL) < 0)
        return certa_error_set(CERTA_ENOMEM, "%s: out of memory", f->ctx.url);
    *port = ntohs(a.sin_port);
    return 0;
}

/* ---- evhttp's side: the response ----------------------------------------- */

static int on_headers(struct evhttp_request *req, void *arg)
{
    struct fetch *f = arg;
    const char *cl = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Length");
    if (cl != NULL && strtoull(cl, NULL, 10) > f->max && !stopped(f)) {
        stop(f, certa_error_set(CERTA_ETOOBIG, "%s: response larger than %zu bytes", f->ctx.url, f->max));
        return -1;
    }
    return 0;
}

/* evhttp hands over the body as it arrives, de-chunked. */
static void on_body(struct evhttp_request *req, void *arg)
{
    struct fetch *f = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    certa_buf *b = &f->out->body;
    if (stopped(f))
        return;
    if (n > f->max - b->len) {
        stop(f, certa_error_set(CERTA_ETOOBIG, "%s: response larger than %zu bytes", f->ctx.url, f->max));
        return;
    }
    int rc = certa_buf_reserve(b, n);
    if (rc < 0) {
        stop(f, rc);
        return;
    }
    evbuffer_copyout(in, b->data + b->len, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void on_done(struct evhttp_request *req, void *arg)
{
    struct fetch *f = arg;
    f->req = NULL;   /* evhttp frees it after this */
    if (stopped(f))
        return;
    int code = req != NULL ? evhttp_request_get_response_code(req) : 0;
    if (code <= 0) {
        stop(f, certa_error_set(CERTA_ENET, "%s: no HTTP response", f->ctx.url));
        return;
    }
    f->out->status = code;
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    if (ct != NULL)
        snprintf(f->out->content_type, sizeof(f->out->content_type), "%s", ct);
    f->complete = 1;
    event_base_loopbreak(f->base);
}

static void on_error(enum evhttp_request_error e, void *arg)
{
    struct fetch *f = arg;
    f->req = NULL;   /* evhttp has freed it */
    if (stopped(f))
        return;
    const char *u = f->ctx.url;
    switch (e) {
    case EVREQ_HTTP_TIMEOUT:
        stop(f, certa_net_timeout(&f->ctx));
        break;
    case EVREQ_HTTP_EOF:
        if (f->outer_error[0])
            stop(f, certa_error_set(CERTA_ENET, "%s: the connection to the server failed: %s", u, f->outer_error));
        else
            stop(f, certa_error_set(CERTA_ENET, "%s: the connection closed before the whole response arrived", u));
        break;
    case EVREQ_HTTP_INVALID_HEADER:
        stop(f, certa_error_set(CERTA_ENET, "%s: malformed HTTP response", u));
        break;
    case EVREQ_HTTP_DATA_TOO_LONG:
        /* The body is bounded in on_body: this is the header bound or a
         * malformed chunk. */
        stop(f, certa_error_set(CERTA_ENET, "%s: malformed HTTP response (headers over %d bytes or a bad chunk)", u,
                                MAX_HEADERS));
        break;
    default:
        stop(f, certa_error_set(CERTA_ENET, "%s: HTTP exchange failed", u));
        break;
    }
}

/* ---- URLs and the request ------------------------------------------------ */

static int split_url(const char *url, const char *what, const char *default_port, struct target *t,
                     struct evhttp_uri **uri)
{
    /* evhttp writes the request target as it is: a space, CR or LF in it
     * would split the request line or add headers. */
    for (const unsigned char *c = (const unsigned char *)url; *c; c++)
        if (*c <= 0x20 || *c == 0x7f)
            return certa_error_set(CERTA_EINVAL, "%sURL '%s' contains a space or control character", what, url);
    *uri = evhttp_uri_parse_with_flags(url, EVHTTP_URI_NONCONFORMANT);
    const char *scheme = *uri ? evhttp_uri_get_scheme(*uri) : NULL;
    const char *host = *uri ? evhttp_uri_get_host(*uri) : NULL;
    if (scheme == NULL || host == NULL || host[0] == '\0')
        return certa_error_set(CERTA_EINVAL, "'%s' is not a valid %sURL", url, what);
    t->https = strcasecmp(scheme, "https") == 0;
    int port = evhttp_uri_get_port(*uri);
    if (port == 0)
        return certa_error_set(CERTA_EINVAL, "'%s': port 0", url);
    snprintf(t->port, sizeof(t->port), "%d", port > 0 ? port : default_port ? atoi(default_port) : t->https ? 443 : 80);
    size_t hl = strlen(host);
    int bracketed = host[0] == '[';
    if (hl >= sizeof(t->host) + (bracketed ? 2 : 0))
        return certa_error_set(CERTA_EINVAL, "'%s': host name too long", url);
    if (bracketed)
        snprintf(t->host, sizeof(t->host), "%.*s", (int)(hl - 2), host + 1);
    else
        snprintf(t->host, sizeof(t->host), "%s", host);
    if (port > 0)
        snprintf(t->authority, sizeof(t->authority), "%s:%d", host, port);
    else
        snprintf(t->authority, sizeof(t->authority), "%s", host);
    snprintf(t->hostport, sizeof(t->hostport), "%s:%s", host, t->port);
    return 0;
}

/* What follows the method: origin-form for the server, absolute-form for
 * an http proxy (RFC 9112 3.2). */
static int request_target(const struct evhttp_uri *uri, const struct target *t, int absolute, certa_buf *out)
{
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    int rc = 0;
    if (absolute)
        rc = certa_buf_appendf(out, "http://%s", t->authority);
    if (rc == 0)
        rc = certa_buf_appendf(out, "%s", set(path) ? path : "/");
    if (rc == 0 && query != NULL)
        rc = certa_buf_appendf(out, "?%s", query);
    return rc;
}

static int start_request(struct fetch *f, const struct target *t, const char *target, const char *content_type,
                         const void *body, size_t body_len, int relay_port)
{
    const char *u = f->ctx.url;
    f->evcon = evhttp_connection_base_bufferevent_new(f->base, NULL, NULL, "127.0.0.1", (unsigned short)relay_port);
    if (f->evcon == NULL)
        return certa_error_set(CERTA_ENOMEM, "%s: cannot start an HTTP exchange", u);
    /* The whole-fetch timer is the one that fires. */
    evhttp_connection_set_timeout(f->evcon, (int)(f->ctx.timeout_s < 86400 ? f->ctx.timeout_s : 86400) + 5);
    evhttp_connection_set_max_headers_size(f->evcon, MAX_HEADERS);

    if ((f->req = evhttp_request_new(on_done, f)) == NULL)
        return certa_error_set(CERTA_ENOMEM, "%s: cannot start an HTTP exchange", u);
    evhttp_request_set_error_cb(f->req, on_error);
    evhttp_request_set_header_cb(f->req, on_headers);
    evhttp_request_set_chunked_cb(f->req, on_body);
    struct evkeyvalq *h = evhttp_request_get_output_headers(f->req);
    /* Each fetch is one exchange on its own connection: say so, or a peer
     * keeping per-connection state (openssl cmp's server) sees the close
     * as an aborted transaction. */
    if (evhttp_add_header(h, "Host", t->authority) < 0 || evhttp_add_header(h, "Accept", "*/*") < 0 ||
        evhttp_add_header(h, "Connection", "close") < 0)
        return certa_error_set(CERTA_EINVAL, "%s: bad host name", u);
    if (body != NULL) {
        if (evhttp_add_header(h, "Content-Type", content_type ? content_type : "application/octet-stream") < 0)
            return certa_error_set(CERTA_EINVAL, "%s: bad content type '%s'", u, content_type);
        if (evbuffer_add(evhttp_request_get_output_buffer(f->req), body, body_len) < 0)
            return certa_error_set(CERTA_ENOMEM, "%s: out of memory", u);
    }
    if (evhttp_make_request(f->evcon, f->req, body != NULL ? EVHTTP_REQ_POST : EVHTTP_REQ_GET, target) < 0) {
        evhttp_request_free(f->req);   /* still ours when the request did not start */
        f->req = NULL;
        return certa_error_set(CERTA_ENET, "%s: cannot start an HTTP exchange", u);
    }
    /* evhttp's socket exists now (its connect is under way): remember its
     * address, the only peer on_accept will take. */
    socklen_t len = sizeof(f->evhttp_addr);
    int fd = bufferevent_getfd(evhttp_connection_get_bufferevent(f->evcon));
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&f->evhttp_addr, &len) < 0 || len != sizeof(f->evhttp_addr))
        return certa_error_set(CERTA_ENET, "%s: cannot reach the HTTP layer over 127.0.0.1", u);
    return 0;
}

/* ---- one fetch ----------------------------------------------------------- */

static int open_outer(struct fetch *f, const struct target *t, const struct target *proxy)
{
    int fd = -1;
    int rc = proxy ? certa_net_connect(&f->ctx, "proxy ", proxy->host, proxy->port, &fd)
                   : certa_net_connect(&f->ctx, "", t->host, t->port, &fd);
    if (rc < 0)
        return rc;
    if (proxy != NULL && t->https && (rc = certa_net_tunnel(&f->ctx, fd, t->hostport)) < 0)
        goto fail;
    if (!t->https) {
        if ((f->outer = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL)
            goto nomem;
    } else {
        if ((f->ssl = certa_net_tls_new(&f->ctx, t->host)) == NULL) {
            rc = CERTA_ENET;
            goto fail;
        }
        f->outer = bufferevent_openssl_socket_new(f->base, fd, f->ssl, BUFFEREVENT_SSL_CONNECTING,
                                                  BEV_OPT_CLOSE_ON_FREE);
        if (f->outer == NULL) {
            SSL_free(f->ssl);
            f->ssl = NULL;
            goto nomem;
        }
    }
    bufferevent_setcb(f->outer, outer_read, NULL, outer_event, f);
    bufferevent_enable(f->outer, EV_READ | EV_WRITE);
    return 0;
nomem:
    rc = certa_error_set(CERTA_ENOMEM, "%s: out of memory", f->ctx.url);
fail:
    close(fd);
    return rc;
}

static int fetch_run(struct fetch *f, const char *url, const char *content_type, const void *body, size_t body_len)
{
    const struct certa_http_route *r = f->ctx.route;
    struct evhttp_uri *uri = NULL, *puri = NULL;
    struct target t = { 0 }, proxy = { 0 };
    certa_buf target = { 0 };
    int rc, relay_port = 0;

    if ((rc = split_url(url, "", NULL, &t, &uri)) < 0)
        goto out;
    const char *scheme = evhttp_uri_get_scheme(uri);
    if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        rc = certa_error_set(CERTA_EINVAL, "'%s' is not an http:// or https:// URL", url);
        goto out;
    }
    if (set(r->proxy)) {
        /* Only the trustpoint's proxy: never the environment's http_proxy. */
        char pbuf[300];
        snprintf(pbuf, sizeof(pbuf), "%s%s", strstr(r->proxy, "://") ? "" : "http://", r->proxy);
        if ((rc = split_url(pbuf, "proxy ", DEFAULT_PROXY_PORT, &proxy, &puri)) < 0)
            goto out;
        if (strcasecmp(evhttp_uri_get_scheme(puri), "http") != 0) {
            rc = certa_error_set(CERTA_EUNSUPPORTED, "proxy '%s': only http://host:port proxies are supported",
                                 r->proxy);
            goto out;
        }
    }
    if ((rc = request_target(uri, &t, set(r->proxy) && !t.https, &target)) < 0)
        goto out;

    struct event_config *cfg = event_config_new();
    if (cfg != NULL) {
        event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);   /* this thread alone uses it */
        f->base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    if (f->base == NULL || (f->timer = evtimer_new(f->base, on_timeout, f)) == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "%s: cannot start an HTTP exchange", url);
        goto out;
    }
    if ((rc = open_outer(f, &t, set(r->proxy) ? &proxy : NULL)) < 0)
        goto out;
    int left = certa_net_remaining_ms(&f->ctx);
    struct timeval tv = { .tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000 };
    evtimer_add(f->timer, &tv);
    if ((rc = relay_listen(f, &relay_port)) < 0 ||
        (rc = start_request(f, &t, (const char *)target.data, content_type, body, body_len, relay_port)) < 0)
        goto out;

    event_base_dispatch(f->base);
    if (!stopped(f))
        f->rc = certa_error_set(CERTA_ENET, "%s: the HTTP exchange stopped without an answer", url);
    rc = f->complete ? 0 : f->rc;
out:
    certa_buf_free(&target);
    if (uri != NULL)   /* evhttp_uri_free(NULL) crashes */
        evhttp_uri_free(uri);
    if (puri != NULL)
        evhttp_uri_free(puri);
    return rc;
}

static void fetch_free(struct fetch *f)
{
    f->rc = f->rc ? f->rc : -1;   /* late callbacks change nothing */
    if (f->req != NULL)
        evhttp_cancel_request(f->req);
    if (f->evcon != NULL)
        evhttp_connection_free(f->evcon);
    if (f->inner != NULL)
        bufferevent_free(f->inner);
    if (f->outer != NULL)
        bufferevent_free(f->outer);   /* and its TLS session and socket */
    if (f->accept_ev != NULL)
        event_free(f->accept_ev);
    if (f->listen_fd >= 0)
        close(f->listen_fd);
    if (f->timer != NULL)
        event_free(f->timer);
    if (f->base != NULL)
        event_base_free(f->base);
}

int certa_http_fetch(const char *url, const struct certa_http_route *route, const char *content_type,
                     const void *body, size_t body_len, struct certa_http_result *out)
{
    static const struct certa_http_route no_route;
    struct fetch f = { .out = out, .listen_fd = -1 };
    memset(out, 0, sizeof(*out));
    f.ctx.url = url;
    f.ctx.route = route ? route : &no_route;
    f.ctx.timeout_s = f.ctx.route->timeout_s > 0 ? f.ctx.route->timeout_s : DEFAULT_TIMEOUT_S;
    f.ctx.deadline_ms = certa_net_now_ms() + (int64_t)f.ctx.timeout_s * 1000;
    f.max = f.ctx.route->max_response ? f.ctx.route->max_response : DEFAULT_MAX_RESPONSE;

    /* Writes to a peer that has gone would raise SIGPIPE (libevent writes
     * with writev, OpenSSL with write): hold it for this thread, and take
     * back one this fetch raised, leaving the process's disposition be. */
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);

    int rc = fetch_run(&f, url, content_type, body, body_len);
    fetch_free(&f);

    if (!sigismember(&old, SIGPIPE)) {
        sigset_t pending;
        const struct timespec zero = { 0, 0 };
        if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
            sigtimedwait(&pipe_set, NULL, &zero);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (rc < 0) {
        certa_http_result_clear(out);
        return rc;
    }
    certa_log(CERTA_LOG_DEBUG, "http %s %s -> %ld, %zu bytes", body ? "POST" : "GET", url, out->status,
              out->body.len);
    return 0;
}

int certa_http_urlencode(const void *data, size_t len, certa_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = data;
    int rc = certa_buf_reserve(out, len * 3 + 1);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = p[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out->data[out->len++] = ch;
        } else {
            out->data[out->len++] = '%';
            out->data[out->len++] = (unsigned char)hex[ch >> 4];
            out->data[out->len++] = (unsigned char)hex[ch & 15];
        }
    }
    out->data[out->len] = '\0';
    return 0;
}
