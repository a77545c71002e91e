/* The device side's HTTP client: one bounded GET or POST through libcurl,
 * leaving through the route the trustpoint names (source address,
 * interface or VRF device, network namespace, proxy). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include "certa/http_client.h"
#include "certa/log.h"

#define DEFAULT_TIMEOUT_S 30
#define DEFAULT_MAX_RESPONSE (1024 * 1024)

struct fetch {
    const struct certa_http_route *route;
    struct certa_http_result *out;
    size_t max;
    int too_big;
    int sock_errno;             /* why the socket could not be opened in the netns */
    const char *sock_error;
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

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct fetch *f = arg;
    size_t len = size * n;
    if (f->out->body.len + len > f->max) {
        f->too_big = 1;
        return 0;   /* aborts the transfer */
    }
    return certa_buf_append(&f->out->body, data, len) == 0 ? len : 0;
}

/* Opens the socket inside the route's network namespace: switch this
 * thread into it, create the socket, switch back. A socket keeps the
 * namespace it was made in, so connect() later happens there. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct fetch *f = arg;
    (void)purpose;
    if (!set(f->route->netns))
        return socket(addr->family, addr->socktype, addr->protocol);
    char path[128];
    snprintf(path, sizeof(path), "/run/netns/%s", f->route->netns);
    int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int target = open(path, O_RDONLY | O_CLOEXEC);
    curl_socket_t s = CURL_SOCKET_BAD;
    if (home < 0 || target < 0) {
        f->sock_errno = errno;
        f->sock_error = "cannot open the network namespace";
        goto out;
    }
    if (setns(target, CLONE_NEWNET) < 0) {
        f->sock_errno = errno;
        f->sock_error = "cannot enter the network namespace";
        goto out;
    }
    s = socket(addr->family, addr->socktype, addr->protocol);
    if (s == CURL_SOCKET_BAD)
        f->sock_errno = errno, f->sock_error = "cannot open a socket in the network namespace";
    if (setns(home, CLONE_NEWNET) < 0) {
        /* Staying in the wrong namespace would route everything after
         * this through it: refuse the socket and say so. */
        if (s != CURL_SOCKET_BAD)
            close(s);
        s = CURL_SOCKET_BAD;
        f->sock_errno = errno;
        f->sock_error = "cannot return from the network namespace";
    }
out:
    if (home >= 0)
        close(home);
    if (target >= 0)
        close(target);
    return s;
}

/* Binds the socket to the interface or VRF device (SO_BINDTODEVICE), as
 * curl's own "if!" form would, but combinable with a source address. */
static int bind_device(void *arg, curl_socket_t s, curlsocktype purpose)
{
    struct fetch *f = arg;
    const char *dev = set(f->route->vrf) ? f->route->vrf : f->route->interface;
    (void)purpose;
    if (!set(dev))
        return CURL_SOCKOPT_OK;
    if (setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev)) < 0) {
        f->sock_errno = errno;
        f->sock_error = "cannot bind to the device";
        return CURL_SOCKOPT_ERROR;
    }
    return CURL_SOCKOPT_OK;
}

static int curl_failure(CURLcode cc, const struct fetch *f, const char *url, const char *detail)
{
    const struct certa_http_route *r = f->route;
    if (f->too_big)
        return certa_error_set(CERTA_ETOOBIG, "%s: response larger than %zu bytes", url, f->max);
    if (f->sock_error != NULL)
        return certa_error_set(CERTA_ENET, "%s: %s %s: %s", url, f->sock_error,
                               set(r->netns) ? r->netns : set(r->vrf) ? r->vrf : r->interface,
                               strerror(f->sock_errno));
    const char *what = detail[0] ? detail : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return certa_error_set(CERTA_ETIMEOUT, "%s: no answer within %ld s", url,
                               r->timeout_s > 0 ? r->timeout_s : DEFAULT_TIMEOUT_S);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return certa_error_set(CERTA_ENET, "%s: cannot resolve the host: %s", url, what);
    case CURLE_COULDNT_CONNECT:
        return certa_error_set(CERTA_ENET, "%s: unreachable: %s", url, what);
    case CURLE_INTERFACE_FAILED:
        return certa_error_set(CERTA_ENET, "%s: cannot use source %s: %s", url, r->source_ip, what);
    default:
        return certa_error_set(CERTA_ENET, "%s: %s", url, what);
    }
}

int certa_http_fetch(const char *url, const struct certa_http_route *route, const char *content_type,
                     const void *body, size_t body_len, struct certa_http_result *out)
{
    static const struct certa_http_route no_route;
    struct fetch f = { .route = route ? route : &no_route, .out = out };
    char errbuf[CURL_ERROR_SIZE] = "";
    char header[160], source[80];
    struct curl_slist *headers = NULL;
    CURL *c = NULL;
    int rc = 0;
    memset(out, 0, sizeof(*out));
    f.max = f.route->max_response ? f.route->max_response : DEFAULT_MAX_RESPONSE;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return certa_error_set(CERTA_EINVAL, "'%s' is not an http:// or https:// URL", url);
    if ((c = curl_easy_init()) == NULL)
        return certa_error_set(CERTA_ENOMEM, "cannot start an HTTP transfer");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, f.route->timeout_s > 0 ? f.route->timeout_s : DEFAULT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &f);
    curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, bind_device);
    curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, &f);
    /* No proxy unless the trustpoint names one: an enrollment must not
     * leave through whatever http_proxy the environment happens to set. */
    curl_easy_setopt(c, CURLOPT_PROXY, set(f.route->proxy) ? f.route->proxy : "");
    if (set(f.route->source_ip)) {
        snprintf(source, sizeof(source), "host!%s", f.route->source_ip);
        curl_easy_setopt(c, CURLOPT_INTERFACE, source);
    }
    headers = curl_slist_append(headers, "Expect:");
    /* Each fetch is one exchange on its own connection: say so, or a peer
     * keeping per-connection state (openssl cmp's server) sees the close
     * as an aborted transaction. */
    headers = curl_slist_append(headers, "Connection: close");
    if (body != NULL) {
        snprintf(header, sizeof(header), "Content-Type: %s",
                 content_type ? content_type : "application/octet-stream");
        headers = curl_slist_append(headers, header);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        rc = curl_failure(cc, &f, url, errbuf);
        certa_http_result_clear(out);
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    char *ct = NULL;
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
        snprintf(out->content_type, sizeof(out->content_type), "%s", ct);
    certa_log(CERTA_LOG_DEBUG, "http %s %s -> %ld, %zu bytes", body ? "POST" : "GET", url, out->status,
              out->body.len);
out:
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return rc;
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
