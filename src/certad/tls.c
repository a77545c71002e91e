/* The TLS server context for the HTTPS listeners: certificate chain, key,
 * and optional client-certificate verification against a CA file. The
 * bufferevents of TLS connections are made in limits.c with this context. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "certad.h"

int certad_tls_ctx_new(const struct certad_config *c, SSL_CTX **out)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    *out = NULL;
    if (ctx == NULL)
        return certa_error_ossl(CERTA_ENOMEM, "TLS context");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    static const unsigned char sid[] = "certad";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
    if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1) {
        certa_error_ossl(CERTA_EINVAL, "tls_cert %s", c->tls_cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            certa_error_set(CERTA_EINVAL, "tls_key %s does not match tls_cert %s", c->tls_key, c->tls_cert);
        } else {
            certa_error_ossl(CERTA_EINVAL, "tls_key %s", c->tls_key);
        }
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        certa_error_ossl(CERTA_EINVAL, "tls_key %s does not match tls_cert %s", c->tls_key, c->tls_cert);
        goto fail;
    }
    if (c->tls_verify != CERTAD_VERIFY_NONE) {
        if (SSL_CTX_load_verify_locations(ctx, c->tls_client_ca, NULL) != 1) {
            certa_error_ossl(CERTA_EINVAL, "tls_client_ca %s", c->tls_client_ca);
            goto fail;
        }
        /* Tell clients which CAs we accept, so they pick the right certificate. */
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c->tls_client_ca);
        if (names != NULL)
            SSL_CTX_set_client_CA_list(ctx, names);
        int mode = SSL_VERIFY_PEER;
        if (c->tls_verify == CERTAD_VERIFY_REQUIRE)
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx, mode, NULL);
        SSL_CTX_set_verify_depth(ctx, 8);
    }
    ERR_clear_error();
    *out = ctx;
    return 0;
fail:
    SSL_CTX_free(ctx);
    return certa_error_last_code() ? certa_error_last_code() : CERTA_EINVAL;
}
