/* evhttp glue: one complete request becomes a certa_http_request, the
 * router picks the service, and its certa_http_response goes back out with
 * the caching headers the service set. evhttp parses HTTP; nothing here does. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include "certa/csr.h"
#include "certad.h"

/* Copies at most len - 1 bytes of src and a NUL; returns the length. */
static size_t copy_bounded(char *dst, size_t len, const char *src)
{
    size_t n = strnlen(src, len - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}

/* "ADDR:PORT" ("[ADDR]:PORT" for IPv6) of the peer, formatted by hand: it
 * runs for every request. */
void certad_remote(struct evhttp_connection *evcon, char *buf, size_t len)
{
    char *addr = NULL;
    ev_uint16_t port = 0;
    if (evcon != NULL)
        evhttp_connection_get_peer(evcon, &addr, &port);
    if (addr == NULL || len < 64) {
        copy_bounded(buf, len, "-");
        return;
    }
    int v6 = strchr(addr, ':') != NULL;
    size_t n = 0;
    if (v6)
        buf[n++] = '[';
    n += copy_bounded(buf + n, len - n - 8, addr);
    if (v6)
        buf[n++] = ']';
    buf[n++] = ':';
    char digits[CERTA_U64_DECIMAL_MAX];
    size_t d = certa_u64_decimal(port, digits);
    memcpy(buf + n, digits, d + 1);
}

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    }
    return "-";
}

/* Last-Modified and Expires of a cached response repeat from request to
 * request: each header keeps its last formatted value per thread. */
static void http_date(struct evkeyvalq *h, const char *name, int64_t t, int slot)
{
    static _Thread_local int64_t last[2] = { -1, -1 };
    static _Thread_local char text[2][40];
    if (last[slot] != t) {
        struct tm tm;
        time_t tt = (time_t)t;
        gmtime_r(&tt, &tm);
        strftime(text[slot], sizeof(text[slot]), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        last[slot] = t;
    }
    evhttp_add_header(h, name, text[slot]);
}

/* The verified TLS client certificate of the connection, or NULL. */
static X509 *client_cert(const struct certad_front *f, struct evhttp_connection *evcon)
{
    if (!f->tls || evcon == NULL)
        return NULL;
    SSL *ssl = bufferevent_openssl_get_ssl(evhttp_connection_get_bufferevent(evcon));
    if (ssl == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
        return NULL;
    return SSL_get0_peer_certificate(ssl);
}

static void free_body(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

/* The Date header, formatted once a second per thread (evhttp would
 * format it for every response). */
static void add_date(struct evkeyvalq *h)
{
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[40];
    time_t now = time(NULL);
    if (now != cached_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(cached, sizeof(cached), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached_sec = now;
    }
    evhttp_add_header(h, "Date", cached);
}

/* evhttp hands a reply to its bufferevent, which writes it once the next
 * loop turn finds the socket writable: two epoll_ctl calls and a turn per
 * request. On a plain connection the reply is written here at once (as the
 * bufferevent itself would, its output unfrozen for the write); when all of
 * it went out, the bufferevent's write callback runs as it does once its
 * output has drained: evhttp then finishes the request (and may free the
 * connection). Anything left, or an error, stays with the bufferevent. */
static void write_now(struct evhttp_connection *evcon)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    struct evbuffer *out = bufferevent_get_output(bev);
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd < 0 || evbuffer_get_length(out) == 0)
        return;
    evbuffer_unfreeze(out, 1);
    int n = evbuffer_write(out, fd);
    evbuffer_freeze(out, 1);
    if (n > 0 && evbuffer_get_length(out) == 0)
        bufferevent_trigger(bev, EV_WRITE, 0);
}

/* Content-Length as evhttp would add it (it does not for HEAD, 1xx, 204
 * and 304), formatted here rather than with its snprintf. */
static void add_content_length(struct evkeyvalq *h, struct evhttp_request *req, int status,
                               size_t len)
{
    char digits[CERTA_U64_DECIMAL_MAX];
    if (len == 0 || status < 200 || status == 204 || status == 304 ||
        evhttp_request_get_command(req) == EVHTTP_REQ_HEAD)
        return;     /* evhttp decides (Content-Length: 0, or none) */
    certa_u64_decimal(len, digits);
    evhttp_add_header(h, "Content-Length", digits);
}

/* Sends res (the body moves to the reply without a copy) and returns its
 * size. evhttp looks for Date, Content-Length and Content-Type in this
 * list before it sends, from the front: they go first. */
static size_t send_response(struct evhttp_request *req, struct certa_http_response *res, int stopping,
                            int tls)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    size_t len = res->body.len;
    add_date(h);
    add_content_length(h, req, res->status, len);
    if (res->content_type[0])
        evhttp_add_header(h, "Content-Type", res->content_type);
    if (stopping)   /* shutting down: this connection takes no further request */
        evhttp_add_header(h, "Connection", "close");
    if (res->etag[0])
        evhttp_add_header(h, "ETag", res->etag);
    if (res->cache_control[0])
        evhttp_add_header(h, "Cache-Control", res->cache_control);
    if (res->last_modified > 0)
        http_date(h, "Last-Modified", res->last_modified, 0);
    if (res->expires > 0)
        http_date(h, "Expires", res->expires, 1);
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    if (len > 0 && evbuffer_add_reference(out, res->body.data, len, free_body, NULL) == 0)
        res->body.data = NULL;      /* owned by the evbuffer now */
    else if (len > 0)
        evbuffer_add(out, res->body.data, len);
    certa_buf_free(&res->body);
    evhttp_send_reply(req, res->status, NULL, NULL);    /* req may be gone from here on */
    if (evcon != NULL && !tls)
        write_now(evcon);
    return len;
}

/* The request headers a module gets, in one pass over the list (the first
 * of each name, as evhttp_find_header would give). */
static void input_headers(struct evkeyvalq *h, struct certa_http_request *creq)
{
    for (struct evkeyval *kv = h->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
        const char *k = kv->key, **slot = NULL;
        switch (k[0]) {
        case 'C': case 'c':
            if (evutil_ascii_strcasecmp(k, "Content-Type") == 0)
                slot = &creq->content_type;
            break;
        case 'I': case 'i':
            if (evutil_ascii_strcasecmp(k, "If-None-Match") == 0)
                slot = &creq->if_none_match;
            else if (evutil_ascii_strcasecmp(k, "If-Modified-Since") == 0)
                slot = &creq->if_modified_since;
            break;
        }
        if (slot != NULL && *slot == NULL)
            *slot = kv->value;
    }
}

static void dispatch(struct certad_worker *w, struct evhttp_request *req,
                     const char *method, const char *path, const char *query, const char *remote,
                     X509 *peer, struct certa_http_response *res)
{
    struct certad_gen *g = w->gen;
    if (strcmp(path, "/healthz") == 0) {
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
            certa_http_respond_error(res, 405, "use GET for /healthz");
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
            return;
        }
        certad_healthz(w, res);
        return;
    }
    int i = certad_route(g->svc, g->n, path);
    if (i < 0) {
        certa_http_respond_error(res, 404, "nothing is served at this path");
        snprintf(res->log_detail, sizeof(res->log_detail), "no service");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(in);
    if (blen > g->cfg->max_body) {
        certa_http_respond_error(res, 413, "request body over %zu bytes", g->cfg->max_body);
        snprintf(res->log_detail, sizeof(res->log_detail), "body over max_body");
        return;
    }
    struct certa_http_request creq = {
        .method = method,
        .path = path,
        .query = query,
        .body = blen ? evbuffer_pullup(in, -1) : NULL,
        .body_len = blen,
        .remote_addr = remote,
        .client_cert = peer,
    };
    input_headers(evhttp_request_get_input_headers(req), &creq);
    const struct certa_service *s = g->svc[i];
    certa_error_clear();
    int rc = s->handle(g->state[i], w->ca, &creq, res);
    if (rc == 0 && (res->status < 100 || res->status > 599))
        rc = certa_error_set(CERTA_EINVAL, "answered with HTTP status %d", res->status);
    if (rc < 0) {
        char why[160];
        snprintf(why, sizeof(why), "%s", certa_error_last());
        certa_buf_free(&res->body);
        memset(res, 0, sizeof(*res));
        certa_http_respond_error(res, 500, "internal error");
        snprintf(res->log_detail, sizeof(res->log_detail), "%s internal error: %s", s->name, why);
    }
}

void certad_http_request_cb(struct evhttp_request *req, void *arg)
{
    struct certad_front *f = arg;
    struct certad_worker *w = f->w;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct certad_conn *conn = certad_limits_dispatched(w, req);

    const char *method = method_name(evhttp_request_get_command(req));
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    if (raw == NULL || raw[0] == '\0')
        raw = "/";
    /* The request is gone once the reply is sent: keep what the log needs. */
    char remote[80], logpath[256];
    certad_limits_remote(conn, evhttp_request_get_connection(req), remote, sizeof(remote));
    copy_bounded(logpath, sizeof(logpath), raw);
    X509 *peer = client_cert(f, evhttp_request_get_connection(req));
    char *client = peer ? certa_name_text(X509_get_subject_name(peer)) : NULL;
    struct certa_http_response res = { .status = 500 };
    size_t plen = 0;
    /* Most paths have nothing to decode: no copy for them. */
    int escaped = strchr(raw, '%') != NULL;
    char *decoded = escaped ? evhttp_uridecode(raw, 0, &plen) : NULL;
    const char *path = escaped ? decoded : raw;
    if (decoded != NULL && strlen(decoded) != plen)
        path = NULL;    /* a %00 inside */
    if (path == NULL || path[0] != '/')
        certa_http_respond_error(&res, 400, "bad request path");
    else
        dispatch(w, req, method, path, query, remote, peer, &res);

    int status = res.status;
    char detail[sizeof(res.log_detail)];
    memcpy(detail, res.log_detail, sizeof(detail));
    detail[sizeof(detail) - 1] = '\0';
    size_t bytes = send_response(req, &res, w->stopping, f->tls);

    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct certad_logrec r = {
        .worker = w->id, .remote = remote, .method = method, .path = logpath, .tls = f->tls,
        .status = status, .bytes = bytes, .detail = detail, .client = client,
        .ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
    };
    certad_log_request(&r);
    free(client);
    free(decoded);
}
