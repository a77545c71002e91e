/* Internal to lib/net: the pieces of one HTTP fetch below the HTTP layer.
 * A fetch owns a deadline; every step that waits (connect, the proxy's
 * CONNECT reply) waits at most until it, and errors name the URL. */
#ifndef CERTA_NET_H
#define CERTA_NET_H

#include <stdint.h>
#include "certa/http_client.h"

struct certa_net_ctx {
    const char *url;                        /* named in every error message */
    const struct certa_http_route *route;   /* never NULL */
    long timeout_s;                         /* the whole fetch */
    int64_t deadline_ms;                    /* CLOCK_MONOTONIC */
};

int64_t certa_net_now_ms(void);
/* Milliseconds left before the deadline (0 once it has passed). */
int certa_net_remaining_ms(const struct certa_net_ctx *ctx);
/* Sets CERTA_ETIMEOUT with the message callers and users look for. */
int certa_net_timeout(const struct certa_net_ctx *ctx);

/* Looks host up (a name, or an address literal without brackets, parsed
 * at once) for port: a name on a thread of its own, waited for until the
 * deadline at most (the resolver's own timeouts can be far longer).
 * CERTA_ENET naming the host, CERTA_ETIMEOUT; *res is the caller's. */
struct addrinfo;
int certa_net_resolve(const struct certa_net_ctx *ctx, const char *what, const char *host, const char *port,
                      struct addrinfo **res);

/* Resolves host (a name or an address literal without brackets) and opens a
 * TCP connection to port along ctx->route: inside its network namespace,
 * bound to its interface or VRF device and its source address. what names
 * the peer in errors ("" for the server, "proxy " for a proxy). On success
 * *fd is a connected non-blocking socket the caller owns. CERTA_ENET,
 * CERTA_ETIMEOUT. */
int certa_net_connect(const struct certa_net_ctx *ctx, const char *what, const char *host, const char *port,
                      int *fd);

/* Asks the HTTP proxy connected on fd for a tunnel to authority (host:port,
 * IPv6 in brackets) with CONNECT and reads its reply up to the blank line;
 * a 2xx opens the tunnel, anything else is CERTA_ENET naming the status. */
int certa_net_tunnel(const struct certa_net_ctx *ctx, int fd, const char *authority);

/* A TLS client session for host (a name, or an address literal without
 * brackets): TLS 1.2 or later, the server certificate verified against the
 * system's default trust store (SSL_CERT_FILE / SSL_CERT_DIR honoured) and
 * checked against host, SNI for names. NULL with the error set. */
struct ssl_st *certa_net_tls_new(const struct certa_net_ctx *ctx, const char *host);
/* The error for a failed handshake or TLS read/write: the certificate
 * verification result when that is what failed, else OpenSSL's reason
 * (ossl_err, 0 when none was queued). CERTA_ENET. */
int certa_net_tls_error(const struct certa_net_ctx *ctx, struct ssl_st *ssl, unsigned long ossl_err);

#endif
