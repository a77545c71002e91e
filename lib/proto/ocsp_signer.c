/* Who signs OCSP responses (the CA, or a delegated OCSP-signing certificate
 * in the CA directory, checked before use) and the signing of a basic
 * response with OpenSSL's OCSP API. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "certa/key.h"
#include "ocsp_internal.h"

#define SIGNER_CERT_MAX (64 * 1024)

static const EVP_MD *signer_md(EVP_PKEY *key)
{
    int id = EVP_PKEY_get_base_id(key);
    if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448)
        return NULL;
    int bits = EVP_PKEY_get_bits(key);
    if (id == EVP_PKEY_EC && bits >= 512)
        return EVP_sha512();
    if (id == EVP_PKEY_EC && bits >= 384)
        return EVP_sha384();
    return EVP_sha256();
}

static int64_t cert_not_after(X509 *x)
{
    struct tm tm;
    if (!ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
        return 0;
    return (int64_t)timegm(&tm);
}

int ocsp_signer_ca(X509 *ca_cert, EVP_PKEY *ca_key, struct ocsp_signer *out)
{
    memset(out, 0, sizeof(*out));
    if (ca_cert == NULL || ca_key == NULL)
        return certa_error_set(CERTA_ESTATE, "the CA was opened without its key and no OCSP "
                               "signer is configured (certa ca ocsp-signer)");
    if (!X509_up_ref(ca_cert) || !EVP_PKEY_up_ref(ca_key))
        return certa_error_ossl(CERTA_ECRYPTO, "referencing the CA key");
    out->cert = ca_cert;
    out->key = ca_key;
    out->md = signer_md(ca_key);
    /* Clients hold the CA certificate already: keep responses small. */
    out->flags = OCSP_RESPID_KEY | OCSP_NOCERTS;
    out->not_after = cert_not_after(ca_cert);
    return 0;
}

static int read_cert(const char *path, X509 **out)
{
    certa_buf b = { 0 };
    int rc = certa_file_read(path, SIGNER_CERT_MAX, &b);
    if (rc < 0)
        return rc;
    BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (x == NULL) {
        const unsigned char *p = b.data;
        x = d2i_X509(NULL, &p, (long)b.len);
    }
    certa_buf_free(&b);
    if (x == NULL)
        return certa_error_ossl(CERTA_EINVAL, "%s holds no certificate", path);
    ERR_clear_error();
    *out = x;
    return 0;
}

int ocsp_signer_delegated(const char *dir, X509 *ca_cert, struct ocsp_signer *out)
{
    char cpath[4096], kpath[4096];
    X509 *x = NULL;
    EVP_PKEY *key = NULL;
    int rc;
    memset(out, 0, sizeof(*out));
    snprintf(cpath, sizeof(cpath), "%s/ocsp.crt", dir);
    snprintf(kpath, sizeof(kpath), "%s/ocsp.key", dir);
    if ((rc = read_cert(cpath, &x)) < 0)
        return rc;   /* CERTA_ENOTFOUND: no delegated signer */
    if ((rc = certa_key_load(kpath, NULL, &key)) < 0)
        goto out;
    rc = CERTA_EPOLICY;
    time_t now = time(NULL);
    if (X509_check_issued(ca_cert, x) != X509_V_OK ||
        X509_verify(x, X509_get0_pubkey(ca_cert)) != 1) {
        certa_error_set(rc, "%s was not issued by this CA", cpath);
        goto out;
    }
    if (!(X509_get_extension_flags(x) & EXFLAG_XKUSAGE) ||
        !(X509_get_extended_key_usage(x) & XKU_OCSP_SIGN)) {
        certa_error_set(rc, "%s lacks extended key usage OCSPSigning", cpath);
        goto out;
    }
    if (X509_cmp_time(X509_get0_notBefore(x), &now) > 0 ||
        X509_cmp_time(X509_get0_notAfter(x), &now) <= 0) {
        certa_error_set(rc, "%s is not valid now (renew it: certa ca ocsp-signer)", cpath);
        goto out;
    }
    if (X509_check_private_key(x, key) != 1) {
        certa_error_ossl(rc, "%s does not match %s", kpath, cpath);
        goto out;
    }
    out->cert = x;
    out->key = key;
    out->md = signer_md(key);
    out->flags = OCSP_RESPID_KEY;   /* the signer's certificate goes in the response */
    out->not_after = cert_not_after(x);
    out->delegated = 1;
    x = NULL;
    key = NULL;
    rc = 0;
out:
    ERR_clear_error();
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

void ocsp_signer_clear(struct ocsp_signer *s)
{
    if (s == NULL)
        return;
    X509_free(s->cert);
    EVP_PKEY_free(s->key);
    sk_X509_pop_free(s->certs, X509_free);
    memset(s, 0, sizeof(*s));
}

static int cert_status(int state)
{
    return state == CERTA_STATE_GOOD ? V_OCSP_CERTSTATUS_GOOD
           : state == CERTA_STATE_REVOKED ? V_OCSP_CERTSTATUS_REVOKED
                                          : V_OCSP_CERTSTATUS_UNKNOWN;
}

int ocsp_sign(const struct ocsp_signer *s, const struct ocsp_answer *a, size_t n,
              OCSP_REQUEST *nonce_from, int64_t now, int64_t next_update, certa_buf *der)
{
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_RESPONSE *resp = NULL;
    ASN1_GENERALIZEDTIME *thisupd = ASN1_GENERALIZEDTIME_set(NULL, (time_t)now);
    ASN1_GENERALIZEDTIME *nextupd = ASN1_GENERALIZEDTIME_set(NULL, (time_t)next_update);
    ASN1_GENERALIZEDTIME *revtime = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *out = NULL;
    int rc = CERTA_ECRYPTO, len;
    if (bs == NULL || thisupd == NULL || nextupd == NULL || ctx == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        int status = cert_status(a[i].st.state), reason = OCSP_REVOKED_STATUS_NOSTATUS;
        ASN1_GENERALIZEDTIME_free(revtime);
        revtime = NULL;
        if (status == V_OCSP_CERTSTATUS_REVOKED) {
            reason = a[i].st.reason;   /* RFC 5280 CRLReason values, as OpenSSL's */
            if ((revtime = ASN1_GENERALIZEDTIME_set(NULL, (time_t)a[i].st.revoked_at)) == NULL)
                goto fail;
        }
        if (OCSP_basic_add1_status(bs, a[i].id, status, reason, revtime, thisupd, nextupd) == NULL)
            goto fail;
    }
    if (nonce_from != NULL && OCSP_copy_nonce(bs, nonce_from) <= 0)
        goto fail;
    if (EVP_DigestSignInit(ctx, NULL, s->md, NULL, s->key) != 1 ||
        OCSP_basic_sign_ctx(bs, s->cert, ctx, s->certs, s->flags) != 1)
        goto fail;
    if ((resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) == NULL ||
        (len = i2d_OCSP_RESPONSE(resp, &out)) <= 0)
        goto fail;
    der->len = 0;
    rc = certa_buf_append(der, out, (size_t)len);
    goto out;
fail:
    rc = certa_error_ossl(CERTA_ECRYPTO, "signing the OCSP response");
out:
    OPENSSL_free(out);
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    ASN1_GENERALIZEDTIME_free(thisupd);
    ASN1_GENERALIZEDTIME_free(nextupd);
    ASN1_GENERALIZEDTIME_free(revtime);
    EVP_MD_CTX_free(ctx);
    return rc;
}

int ocsp_error_der(int status, certa_buf *der)
{
    OCSP_RESPONSE *r = OCSP_response_create(status, NULL);
    unsigned char *out = NULL;
    int len = r ? i2d_OCSP_RESPONSE(r, &out) : -1;
    int rc = len > 0 ? certa_buf_append(der, out, (size_t)len)
                     : certa_error_ossl(CERTA_ECRYPTO, "encoding an OCSP error response");
    OPENSSL_free(out);
    OCSP_RESPONSE_free(r);
    return rc;
}
