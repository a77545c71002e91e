/* TLS for the device's HTTP client: OpenSSL, the system trust store, the
 * server's name or address checked; and the one error message that says
 * why a handshake failed. */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "net.h"

static int is_address(const char *host)
{
    unsigned char bin[16];
    return inet_pton(AF_INET, host, bin) == 1 || inet_pton(AF_INET6, host, bin) == 1;
}

SSL *certa_net_tls_new(const struct certa_net_ctx *ctx, const char *host)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    if (c == NULL || SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_default_verify_paths(c) != 1)
        goto fail;
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    /* Many servers close without close_notify. OpenSSL 3 reports that as
     * an error libevent 2.1 does not know for a close; evhttp still tells
     * a body cut short by its Content-Length or chunking. */
    SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if ((ssl = SSL_new(c)) == NULL)
        goto fail;
    if (is_address(host)) {
        /* An address in the URL is checked against the certificate's
         * iPAddress SANs; SNI carries names only (RFC 6066 3). */
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1)
            goto fail;
    } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1)
            goto fail;
    }
    SSL_CTX_free(c);   /* the session holds its own reference */
    return ssl;
fail:
    certa_error_ossl(CERTA_ENET, "%s: cannot set up TLS", ctx->url);
    SSL_free(ssl);
    SSL_CTX_free(c);
    return NULL;
}

int certa_net_tls_error(const struct certa_net_ctx *ctx, SSL *ssl, unsigned long ossl_err)
{
    long v = SSL_get_verify_result(ssl);
    ERR_clear_error();
    if (v != X509_V_OK)
        return certa_error_set(CERTA_ENET, "%s: the server's certificate was refused: %s", ctx->url,
                               X509_verify_cert_error_string(v));
    if (ossl_err == 0)
        return certa_error_set(CERTA_ENET, "%s: TLS failed: the connection closed during the handshake", ctx->url);
    char reason[256];
    ERR_error_string_n(ossl_err, reason, sizeof(reason));
    return certa_error_set(CERTA_ENET, "%s: TLS failed: %s", ctx->url, reason);
}
