/* The SCEP server module (RFC 8894) behind certad: routes the operations
 * (GetCACaps, GetCACert, GetNextCACert, PKIOperation over GET and POST),
 * builds the shared state once (RA certificate, pre-encoded answers), and
 * hands PKIOperation messages to scep_pkiop.c.
 *
 * Settings ([scep] in certad's config, else in ca.conf):
 *   profile = NAME        profile for SCEP requests (default: [ca] default_profile)
 *   legacy = yes          accept SHA-1 and MD5 digests, DES3 and single-DES
 *                         envelopes, advertise SHA-1 and DES3 (old devices; loads
 *                         OpenSSL's legacy provider)
 *   ra = auto|yes         RA certificate only when the CA key is not RSA (auto),
 *                         or always (yes)
 *   ra_key = rsa:2048     key of the RA certificate; ra_days = 730
 *   next_ca_cert = FILE   the rollover CA certificate for GetNextCACert, overriding
 *                         the CA's [ca] next_ca_cert (which CMP serves too)
 *   clock_skew = SECONDS  refuse (badTime) a signingTime further off; 0: not checked
 *   crl_max_age = SECONDS how long GetCRL reuses a CRL it built (default 300) */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "certa/log.h"
#include "ca/ca_internal.h"
#include "scep_internal.h"

#define MESSAGE_PARAM_MAX (SCEP_MSG_MAX * 4 / 3 + 4096)

static const char *setting(const struct certa_service_env *env, const char *key)
{
    const char *v = env->setting ? env->setting(env->setting_arg, "scep", key) : NULL;
    return v ? v : certa_ca_setting(env->ca, "scep", key);
}

static int yes(const char *v)
{
    return v && (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on"));
}

static int int_setting(const struct certa_service_env *env, const char *key, long def, long min, long max,
                       long *out)
{
    const char *v = setting(env, key);
    *out = def;
    if (v == NULL)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || end == v || n < min || n > max)
        return certa_error_set(CERTA_EINVAL, "[scep] %s = %s: expected a number from %ld to %ld", key, v, min, max);
    *out = n;
    return 0;
}

static void scep_stop(void *state)
{
    struct scep_state *st = state;
    if (st == NULL)
        return;
    X509_free(st->ca_cert);
    sk_X509_pop_free(st->chain, X509_free);
    X509_free(st->ra_cert);
    EVP_PKEY_free(st->ra_key);
    sk_X509_pop_free(st->ra_extra, X509_free);
    free(st->profile);
    certa_buf_free(&st->cacert);
    certa_buf_free(&st->nextca);
    certa_buf_free(&st->crl);
    if (st->prov_legacy)
        OSSL_PROVIDER_unload(st->prov_legacy);
    if (st->prov_default)
        OSSL_PROVIDER_unload(st->prov_default);
    pthread_mutex_destroy(&st->crl_lock);
    pthread_mutex_destroy(&st->write_lock);
    pthread_mutex_destroy(&st->q_lock);
    free(st);
}

/* GetCACert: the CA alone as DER, or certs-only PKCS#7 with RA and chain. */
static int encode_cacert(struct scep_state *st)
{
    if (st->ra_cert == NULL && sk_X509_num(st->chain) == 0) {
        unsigned char *der = NULL;
        int n = i2d_X509(st->ca_cert, &der);
        if (n <= 0)
            return certa_error_ossl(CERTA_ECRYPTO, "encoding the CA certificate");
        int rc = certa_buf_append(&st->cacert, der, (size_t)n);
        OPENSSL_free(der);
        snprintf(st->cacert_type, sizeof(st->cacert_type), "application/x-x509-ca-cert");
        return rc;
    }
    X509 *certs[16];
    size_t n = 0;
    certs[n++] = st->ca_cert;
    if (st->ra_cert)
        certs[n++] = st->ra_cert;
    for (int i = 0; i < sk_X509_num(st->chain) && n < 16; i++)
        certs[n++] = sk_X509_value(st->chain, i);
    snprintf(st->cacert_type, sizeof(st->cacert_type), "application/x-x509-ca-ra-cert");
    return scep_degenerate(certs, n, NULL, 0, &st->cacert);
}

/* GetNextCACert: SignedData (by the current CA or RA) over a certs-only
 * PKCS#7 with the next CA certificate. */
static int encode_nextca(struct scep_state *st, certa_ca *ca, X509 *next)
{
    certa_buf inner = { 0 };
    int rc = scep_degenerate(&next, 1, NULL, 0, &inner);
    if (rc < 0)
        goto out;
    X509 *sc = st->ra_cert ? st->ra_cert : st->ca_cert;
    EVP_PKEY *sk = st->ra_key ? st->ra_key : certa_ca_key(ca);
    if (sk == NULL) {
        rc = certa_error_set(CERTA_ESTATE, "GetNextCACert needs the CA key");
        goto out;
    }
    rc = scep_signed_data(sc, sk, NID_sha256, inner.data, inner.len, &st->nextca);
out:
    certa_buf_free(&inner);
    return rc;
}

/* The rollover CA: [scep] next_ca_cert (SCEP's own, any certificate, as
 * before), else the CA's [ca] next_ca_cert, checked as CMP checks it. */
static int load_nextca(const struct certa_service_env *env, struct scep_state *st)
{
    const char *file = setting(env, "next_ca_cert");
    X509 *next = NULL;
    int rc = 0;
    if (file != NULL && file[0]) {
        if ((rc = certa_ca_read_cert_file(env->ca, file, &next)) < 0)
            return rc;
    } else {
        const char *v = env->setting ? env->setting(env->setting_arg, "ca", "next_ca_cert") : NULL;
        struct certa_ca_next n;
        if ((rc = certa_ca_next_load(env->ca, v ? v : certa_ca_setting(env->ca, "ca", "next_ca_cert"), NULL,
                                     NULL, &n)) < 0)
            return rc;
        next = n.cert;
    }
    if (next != NULL)
        rc = encode_nextca(st, env->ca, next);
    X509_free(next);
    return rc;
}

static int scep_start(const struct certa_service_env *env, void **state)
{
    struct scep_state *st = calloc(1, sizeof(*st));
    certa_ca *ca = env->ca;
    int rc = 0;
    long v;
    *state = NULL;
    if (st == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    pthread_mutex_init(&st->crl_lock, NULL);
    pthread_mutex_init(&st->write_lock, NULL);
    pthread_mutex_init(&st->q_lock, NULL);
    st->q_tail = &st->q_head;
    scep_nids();
    st->ca_cert = X509_dup(certa_ca_cert(ca));
    st->chain = X509_chain_up_ref(certa_ca_chain(ca));
    if (st->ca_cert == NULL || st->chain == NULL) {
        rc = certa_error_ossl(CERTA_ENOMEM, "copying the CA certificates");
        goto out;
    }
    st->legacy = yes(setting(env, "legacy"));
    if (st->legacy) {
        /* Loading one provider stops the implicit default: load both. */
        st->prov_default = OSSL_PROVIDER_load(NULL, "default");
        st->prov_legacy = OSSL_PROVIDER_load(NULL, "legacy");
        if (st->prov_default == NULL || st->prov_legacy == NULL) {
            rc = certa_error_ossl(CERTA_EUNSUPPORTED, "[scep] legacy = yes needs OpenSSL's legacy provider");
            goto out;
        }
    }
    const char *profile = setting(env, "profile");
    if (certa_ca_profile(ca, profile) == NULL) {
        rc = certa_error_set(CERTA_ENOTFOUND, "[scep] profile %s: no such profile in ca.conf", profile ? profile : "(default)");
        goto out;
    }
    if (profile && (st->profile = strdup(profile)) == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = int_setting(env, "clock_skew", 0, 0, 100L * 365 * 86400, &v)) < 0)
        goto out;
    st->clock_skew = v;
    if ((rc = int_setting(env, "crl_max_age", 300, 0, 86400 * 7, &v)) < 0)
        goto out;
    st->crl_max_age = (int)v;
    const char *ra = setting(env, "ra");
    if (ra && strcasecmp(ra, "auto") && strcasecmp(ra, "yes"))
        rc = certa_error_set(CERTA_EINVAL, "[scep] ra = %s: expected auto or yes", ra);
    int want_ra = (ra && !strcasecmp(ra, "yes")) || !EVP_PKEY_is_a(X509_get0_pubkey(st->ca_cert), "RSA");
    if (rc == 0 && want_ra) {
        long days;
        const char *spec = setting(env, "ra_key");
        if ((rc = int_setting(env, "ra_days", 730, 2, 36500, &days)) < 0)
            goto out;
        if ((rc = scep_ra_load_or_create(ca, spec ? spec : "rsa:2048", (int)days, (int)(days < 60 ? 1 : 30),
                                         &st->ra_cert, &st->ra_key)) < 0)
            goto out;
        if ((st->ra_extra = sk_X509_new_null()) == NULL || !X509_up_ref(st->ca_cert) ||
            !sk_X509_push(st->ra_extra, st->ca_cert)) {
            rc = certa_error_set(CERTA_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (rc < 0 || (rc = encode_cacert(st)) < 0)
        goto out;
    if ((rc = load_nextca(env, st)) < 0)
        goto out;
    /* SHA-384 is accepted anyway; advertising it also lets strongSwan 5.9's
     * pki, which tests its capability bits by index, pick AES. */
    snprintf(st->caps, sizeof(st->caps),
             "POSTPKIOperation\nSHA-256\nSHA-384\nSHA-512\nAES\nSCEPStandard\nRenewal\n%s%s",
             st->legacy ? "SHA-1\nDES3\n" : "", st->nextca.len ? "GetNextCACert\n" : "");
out:
    if (rc < 0) {
        scep_stop(st);
        return rc;
    }
    *state = st;
    return 0;
}

/* Base64 as SCEP clients send it in a query: '+' unescaped or %2B, URL-safe
 * '-' '_', spaces where a form decoder turned '+' into ' ', line breaks. */
static int b64_decode(const unsigned char *in, size_t len, certa_buf *out)
{
    unsigned char *clean = malloc(len + 4);
    size_t n = 0;
    int rc = 0;
    if (clean == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = in[i];
        if (c == '\r' || c == '\n' || c == '\t')
            continue;
        clean[n++] = c == ' ' ? '+' : c == '-' ? '+' : c == '_' ? '/' : c;
    }
    while (n % 4 != 0 && n % 4 != 1)
        clean[n++] = '=';
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    int outl = 0, fin = 0;
    if (ctx == NULL || certa_buf_reserve(out, n / 4 * 3 + 4) < 0) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    EVP_DecodeInit(ctx);
    if (EVP_DecodeUpdate(ctx, out->data, &outl, clean, (int)n) < 0 ||
        EVP_DecodeFinal(ctx, out->data + outl, &fin) < 0) {
        rc = certa_error_set(CERTA_EPROTO, "message is not base64");
        goto out;
    }
    out->len = (size_t)outl + (size_t)fin;
out:
    EVP_ENCODE_CTX_free(ctx);
    free(clean);
    return rc;
}

static int pkioperation(struct scep_state *st, certa_ca *ca, const struct certa_http_request *req,
                        struct certa_http_response *res)
{
    certa_buf der = { 0 };
    unsigned char *param = NULL;
    size_t plen = 0;
    int rc;
    if (strcmp(req->method, "POST") == 0) {
        /* Binary per RFC 8894; a few clients post base64 text. */
        if (req->body_len > 0 && req->body[0] == 0x30)
            rc = certa_buf_append(&der, req->body, req->body_len);
        else
            rc = b64_decode(req->body, req->body_len, &der);
    } else {
        rc = certa_http_query_param(req->query, "message", &param, &plen);
        if (rc == CERTA_ENOTFOUND) {
            rc = certa_http_respond_error(res, 400, "PKIOperation needs a message parameter");
            snprintf(res->log_detail, sizeof(res->log_detail), "PKIOperation without message");
            goto out;
        }
        if (rc == 0 && plen > MESSAGE_PARAM_MAX)
            rc = certa_error_set(CERTA_ETOOBIG, "message over %d characters", MESSAGE_PARAM_MAX);
        if (rc == 0)
            rc = b64_decode(param, plen, &der);
    }
    if (rc == CERTA_EPROTO || rc == CERTA_ETOOBIG) {
        snprintf(res->log_detail, sizeof(res->log_detail), "PKIOperation: %s", certa_error_last());
        rc = certa_http_respond_error(res, 400, "%s", certa_error_last());
        goto out;
    }
    if (rc == 0)
        rc = scep_pkioperation(st, ca, der.data, der.len, res);
out:
    free(param);
    certa_buf_free(&der);
    return rc;
}

static int scep_handle(void *state, certa_ca *ca, const struct certa_http_request *req,
                       struct certa_http_response *res)
{
    struct scep_state *st = state;
    unsigned char *op = NULL;
    size_t oplen;
    int rc;
    if (strcmp(req->method, "GET") && strcmp(req->method, "POST") && strcmp(req->method, "HEAD")) {
        snprintf(res->log_detail, sizeof(res->log_detail), "method %.32s not allowed", req->method);
        return certa_http_respond_error(res, 405, "SCEP takes GET and POST");
    }
    if ((rc = certa_http_query_param(req->query, "operation", &op, &oplen)) < 0) {
        if (rc != CERTA_ENOTFOUND)
            return rc;
        snprintf(res->log_detail, sizeof(res->log_detail), "no operation");
        return certa_http_respond_error(res, 400, "SCEP request without operation=");
    }
    const char *o = (const char *)op;
    if (!strcasecmp(o, "GetCACaps")) {
        rc = certa_http_respond(res, 200, "text/plain", st->caps, strlen(st->caps));
        snprintf(res->log_detail, sizeof(res->log_detail), "GetCACaps");
    } else if (!strcasecmp(o, "GetCACert")) {
        rc = certa_http_respond(res, 200, st->cacert_type, st->cacert.data, st->cacert.len);
        snprintf(res->log_detail, sizeof(res->log_detail), "GetCACert%s", st->ra_cert ? " (CA+RA)" : "");
    } else if (!strcasecmp(o, "GetNextCACert")) {
        if (st->nextca.len == 0) {
            rc = certa_http_respond_error(res, 404, "no rollover CA certificate is configured");
            snprintf(res->log_detail, sizeof(res->log_detail), "GetNextCACert: none configured");
        } else {
            rc = certa_http_respond(res, 200, "application/x-x509-next-ca-cert", st->nextca.data, st->nextca.len);
            snprintf(res->log_detail, sizeof(res->log_detail), "GetNextCACert");
        }
    } else if (!strcasecmp(o, "PKIOperation")) {
        rc = pkioperation(st, ca, req, res);
    } else {
        snprintf(res->log_detail, sizeof(res->log_detail), "unknown operation");
        rc = certa_http_respond_error(res, 400, "unknown SCEP operation");
    }
    free(op);
    return rc;
}

static void scep_revoked(void *state, const char *serial)
{
    struct scep_state *st = state;
    (void)serial;
    pthread_mutex_lock(&st->crl_lock);
    st->crl_at = 0;
    pthread_mutex_unlock(&st->crl_lock);
}

static const char *const scep_paths[] = { "/scep", "/cgi-bin/pkiclient.exe", NULL };

CERTA_API const struct certa_service certa_service_scep = {
    .name = "scep",
    .paths = scep_paths,
    .start = scep_start,
    .handle = scep_handle,
    .tick = NULL,
    .revoked = scep_revoked,
    .stop = scep_stop,
};
