/* The device side's HTTP client (libevent's evhttp, TLS by OpenSSL): what
 * every enrollment protocol and revocation fetch uses to reach a CA, leaving
 * through the trustpoint's source address or interface, VRF device or
 * network namespace, or HTTP proxy. https:// verifies the server against the
 * system trust store (SSL_CERT_FILE/SSL_CERT_DIR honoured) and its name or
 * address. Responses are bounded in size; a failure says what failed (DNS,
 * connect, TLS, proxy, timeout) in certa_error_last(). */
#ifndef CERTA_HTTP_CLIENT_H
#define CERTA_HTTP_CLIENT_H

#include <stddef.h>
#include "certa/util.h"

/* How to leave the device. Every field may be NULL or "" for "not set". */
struct certa_http_route {
    const char *source_ip;      /* bind to this local address */
    const char *interface;      /* bind to this interface (SO_BINDTODEVICE) */
    const char *vrf;            /* bind to this VRF device (SO_BINDTODEVICE) */
    const char *netns;          /* open the socket inside /run/netns/NAME */
    const char *proxy;          /* http://host:port (https:// URLs: CONNECT);
                                 * environment proxies are never used */
    long timeout_s;             /* whole-transfer timeout, name lookup
                                 * included; 0 = 30 s */
    size_t max_response;        /* bound on the body, 0 = 1 MiB */
};

struct certa_http_result {
    long status;                /* HTTP status (0 when no response) */
    char content_type[96];      /* "" when the server sent none */
    certa_buf body;
};
CERTA_API void certa_http_result_clear(struct certa_http_result *r);

/* GET url (body NULL) or POST body with content_type, one exchange on its own
 * connection (Connection: close). Returns 0 when an HTTP response arrived,
 * whatever its status (the caller judges it); CERTA_EINVAL for a URL that is
 * not http:// or https://, CERTA_EUNSUPPORTED for a proxy that is not
 * http://, CERTA_ENET for DNS/connect/TLS/proxy failures and responses cut
 * short or malformed, CERTA_ETIMEOUT, CERTA_ETOOBIG past max_response. */
CERTA_API int certa_http_fetch(const char *url, const struct certa_http_route *route,
                               const char *content_type, const void *body, size_t body_len,
                               struct certa_http_result *out);

/* Percent-encodes data for a query value (base64's '+', '/', '=' included). */
CERTA_API int certa_http_urlencode(const void *data, size_t len, certa_buf *out);

#endif
