/* Writing SCEP answers with OpenSSL's PKCS#7: the signed CertRep with its
 * attributes and, on SUCCESS, the reply enveloped for the requester with
 * the cipher it used; certs-only structures for GetCACert and replies. */
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include "scep_internal.h"

static int to_buf(PKCS7 *p7, certa_buf *out)
{
    unsigned char *der = NULL;
    int n = i2d_PKCS7(p7, &der);
    if (n <= 0)
        return certa_error_ossl(CERTA_ECRYPTO, "encoding PKCS#7");
    out->len = 0;
    int rc = certa_buf_append(out, der, (size_t)n);
    OPENSSL_free(der);
    return rc;
}

int scep_degenerate(X509 *const *certs, size_t ncerts, const unsigned char *crl_der, size_t crl_len,
                    certa_buf *out)
{
    int rc = 0;
    X509_CRL *crl = NULL;
    PKCS7 *p7 = PKCS7_new();
    if (p7 == NULL || !PKCS7_set_type(p7, NID_pkcs7_signed) || !PKCS7_content_new(p7, NID_pkcs7_data)) {
        rc = certa_error_ossl(CERTA_ENOMEM, "building PKCS#7");
        goto out;
    }
    for (size_t i = 0; i < ncerts; i++)
        if (!PKCS7_add_certificate(p7, certs[i])) {
            rc = certa_error_ossl(CERTA_ENOMEM, "building PKCS#7");
            goto out;
        }
    if (crl_der != NULL) {
        const unsigned char *p = crl_der;
        if ((crl = d2i_X509_CRL(NULL, &p, (long)crl_len)) == NULL || !PKCS7_add_crl(p7, crl)) {
            rc = certa_error_ossl(CERTA_ECRYPTO, "adding the CRL");
            goto out;
        }
    }
    /* Certs-only: encapContentInfo without eContent. */
    PKCS7_set_detached(p7, 1);
    rc = to_buf(p7, out);
out:
    X509_CRL_free(crl);
    PKCS7_free(p7);
    return rc;
}

static int add_string(PKCS7_SIGNER_INFO *si, int nid, const char *text)
{
    ASN1_STRING *s = ASN1_STRING_type_new(V_ASN1_PRINTABLESTRING);
    if (s == NULL || !ASN1_STRING_set(s, text, (int)strlen(text)) ||
        !PKCS7_add_signed_attribute(si, nid, V_ASN1_PRINTABLESTRING, s)) {
        ASN1_STRING_free(s);
        return 0;
    }
    return 1;
}

static int add_octets(PKCS7_SIGNER_INFO *si, int nid, const unsigned char *d, size_t len)
{
    ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
    if (s == NULL || !ASN1_OCTET_STRING_set(s, d, (int)len) ||
        !PKCS7_add_signed_attribute(si, nid, V_ASN1_OCTET_STRING, s)) {
        ASN1_OCTET_STRING_free(s);
        return 0;
    }
    return 1;
}

/* Starts a SignedData; the caller adds attributes through si_out before
 * signed_final: split so that CertRep and GetNextCACert share the signing. */
static PKCS7 *signed_new(X509 *cert, EVP_PKEY *key, int md_nid, PKCS7_SIGNER_INFO **si_out)
{
    const EVP_MD *md = EVP_get_digestbynid(md_nid);
    PKCS7 *p7 = PKCS7_new();
    *si_out = NULL;
    if (md == NULL || p7 == NULL || !PKCS7_set_type(p7, NID_pkcs7_signed) ||
        !PKCS7_content_new(p7, NID_pkcs7_data) ||
        (*si_out = PKCS7_sign_add_signer(p7, cert, key, md, PKCS7_NOSMIMECAP)) == NULL) {
        PKCS7_free(p7);
        return NULL;
    }
    return p7;
}

/* Signs content. NULL (FAILURE and PENDING, which carry no envelope) signs
 * an empty eContent rather than omitting it, as other SCEP servers do:
 * certmonger's scep-submit cannot read a CertRep without content. */
static int signed_final(PKCS7 *p7, const unsigned char *content, size_t len, certa_buf *out)
{
    BIO *in = content ? BIO_new_mem_buf(content, (int)len) : BIO_new(BIO_s_mem());
    int rc = (in != NULL && PKCS7_final(p7, in, PKCS7_BINARY) == 1) ? to_buf(p7, out)
             : certa_error_ossl(CERTA_ECRYPTO, "signing PKCS#7");
    BIO_free(in);
    return rc;
}

int scep_signed_data(X509 *cert, EVP_PKEY *key, int md_nid, const unsigned char *content, size_t len,
                     certa_buf *out)
{
    PKCS7_SIGNER_INFO *si;
    PKCS7 *p7 = signed_new(cert, key, md_nid, &si);
    if (p7 == NULL)
        return certa_error_ossl(CERTA_ECRYPTO, "preparing SignedData");
    int rc = signed_final(p7, content, len, out);
    PKCS7_free(p7);
    return rc;
}

int scep_certrep(const struct scep_reply *r, certa_buf *out)
{
    const struct scep_nids *n = scep_nids();
    PKCS7_SIGNER_INFO *si;
    PKCS7 *env = NULL;
    BIO *in = NULL;
    certa_buf envder = { 0 };
    int rc = 0;
    char num[8];
    unsigned char nonce[16];
    PKCS7 *p7 = signed_new(r->sign_cert, r->sign_key, r->md_nid, &si);
    if (p7 == NULL) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "preparing the CertRep");
        goto out;
    }
    for (int i = 0; r->extra_certs && i < sk_X509_num(r->extra_certs); i++)
        if (!PKCS7_add_certificate(p7, sk_X509_value(r->extra_certs, i))) {
            rc = certa_error_ossl(CERTA_ENOMEM, "preparing the CertRep");
            goto out;
        }
    if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "no random senderNonce");
        goto out;
    }
    snprintf(num, sizeof(num), "%d", SCEP_CERTREP);
    int ok = add_string(si, n->message_type, num) && add_string(si, n->transaction_id, r->req->txid) &&
             add_octets(si, n->recipient_nonce, r->req->nonce, r->req->nonce_len) &&
             add_octets(si, n->sender_nonce, nonce, sizeof(nonce));
    snprintf(num, sizeof(num), "%d", r->status);
    ok = ok && add_string(si, n->pki_status, num);
    if (r->status == SCEP_FAILURE) {
        snprintf(num, sizeof(num), "%d", r->fail_info);
        ok = ok && add_string(si, n->fail_info, num);
    }
    if (!ok) {
        rc = certa_error_ossl(CERTA_ENOMEM, "adding CertRep attributes");
        goto out;
    }
    if (r->status == SCEP_SUCCESS && r->content != NULL) {
        STACK_OF(X509) *recips = sk_X509_new_null();
        const EVP_CIPHER *cipher = EVP_get_cipherbynid(r->req->cipher_nid);
        in = BIO_new_mem_buf(r->content, (int)r->content_len);
        if (recips != NULL && sk_X509_push(recips, r->req->signer) && cipher != NULL && in != NULL)
            env = PKCS7_encrypt(recips, in, cipher, PKCS7_BINARY);
        sk_X509_free(recips);
        if (env == NULL) {
            rc = certa_error_ossl(CERTA_ECRYPTO, "enveloping the reply for the requester");
            goto out;
        }
        if ((rc = to_buf(env, &envder)) < 0)
            goto out;
        rc = signed_final(p7, envder.data, envder.len, out);
    } else {
        rc = signed_final(p7, NULL, 0, out);
    }
out:
    BIO_free(in);
    PKCS7_free(env);
    PKCS7_free(p7);
    certa_buf_free(&envder);
    return rc;
}
