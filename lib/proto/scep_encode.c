/* Writing SCEP answers: the signed CertRep with its attributes (on SUCCESS
 * carrying scep_envelope.c's reply), certs-only structures for GetCACert
 * and replies, and GetNextCACert's signed content. The SignedData is built
 * with scep_asn1.c's templates, certificates and CRLs copied in as DER,
 * and signed as OpenSSL's PKCS#7 signs (PKCS7_SIGNER_INFO_sign); going
 * through PKCS7_sign would re-encode every certificate and copy the
 * content through a BIO chain. */
#include <limits.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include "scep_internal.h"

static SCEP_CONTENT_INFO *signed_data_new(void)
{
    SCEP_CONTENT_INFO *ci = (SCEP_CONTENT_INFO *)ASN1_item_new(ASN1_ITEM_rptr(SCEP_CONTENT_INFO));
    if (ci == NULL || (ci->type = OBJ_nid2obj(NID_pkcs7_signed)) == NULL || !ASN1_INTEGER_set(ci->d->version, 1) ||
        (ci->d->contents->type = OBJ_nid2obj(NID_pkcs7_data)) == NULL) {
        ASN1_item_free((ASN1_VALUE *)ci, ASN1_ITEM_rptr(SCEP_CONTENT_INFO));
        return NULL;
    }
    return ci;
}

/* DER (a certificate or a CRL) appended to *set as ANY. */
static int add_der(STACK_OF(ASN1_TYPE) **set, const unsigned char *der, int len)
{
    ASN1_TYPE *t = ASN1_TYPE_new();
    ASN1_STRING *s = ASN1_STRING_type_new(V_ASN1_SEQUENCE);
    if (t == NULL || s == NULL || len <= 0 || !ASN1_STRING_set(s, der, len) ||
        (*set == NULL && (*set = sk_ASN1_TYPE_new_null()) == NULL)) {
        ASN1_TYPE_free(t);
        ASN1_STRING_free(s);
        return 0;
    }
    ASN1_TYPE_set(t, V_ASN1_SEQUENCE, s);
    if (!sk_ASN1_TYPE_push(*set, t)) {
        ASN1_TYPE_free(t);
        return 0;
    }
    return 1;
}

static int add_cert(SCEP_SIGNED *sd, X509 *x)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    int ok = add_der(&sd->certs, der, len);
    OPENSSL_free(der);
    return ok;
}

static int to_buf(SCEP_CONTENT_INFO *ci, certa_buf *out)
{
    unsigned char *der = NULL;
    int n = ASN1_item_i2d((ASN1_VALUE *)ci, &der, ASN1_ITEM_rptr(SCEP_CONTENT_INFO));
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
    /* Certs-only: no signer, encapContentInfo without eContent. */
    SCEP_CONTENT_INFO *ci = signed_data_new();
    int ok = ci != NULL;
    for (size_t i = 0; ok && i < ncerts; i++)
        ok = add_cert(ci->d, certs[i]);
    if (ok && crl_der != NULL)
        ok = crl_len <= INT_MAX && add_der(&ci->d->crls, crl_der, (int)crl_len);
    int rc = ok ? to_buf(ci, out) : certa_error_ossl(CERTA_ENOMEM, "building PKCS#7");
    ASN1_item_free((ASN1_VALUE *)ci, ASN1_ITEM_rptr(SCEP_CONTENT_INFO));
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

/* A SignerInfo for cert/key with the given digest; the caller adds its
 * attributes before signed_final. */
static PKCS7_SIGNER_INFO *signer_new(X509 *cert, EVP_PKEY *key, int md_nid)
{
    const EVP_MD *md = EVP_get_digestbynid(md_nid);
    PKCS7_SIGNER_INFO *si = PKCS7_SIGNER_INFO_new();
    if (md == NULL || si == NULL || !PKCS7_SIGNER_INFO_set(si, cert, key, md)) {
        PKCS7_SIGNER_INFO_free(si);
        return NULL;
    }
    return si;
}

/* Signs content (an empty eContent when NULL: FAILURE and PENDING carry no
 * envelope, and certmonger's scep-submit cannot read a CertRep without
 * content, so it is not omitted) with si, as PKCS7_final would: contentType,
 * signingTime and messageDigest join si's attributes, which are then signed
 * in their DER order. si and the signer's certificates (cert, then extra)
 * go into the SignedData, which is encoded into out. Takes si. */
static int signed_final(PKCS7_SIGNER_INFO *si, X509 *cert, STACK_OF(X509) *extra, const unsigned char *content,
                        size_t len, certa_buf *out)
{
    SCEP_CONTENT_INFO *ci = signed_data_new();
    if (ci == NULL || !sk_PKCS7_SIGNER_INFO_push(ci->d->signer_info, si)) {
        PKCS7_SIGNER_INFO_free(si);
        ASN1_item_free((ASN1_VALUE *)ci, ASN1_ITEM_rptr(SCEP_CONTENT_INFO));
        return certa_error_ossl(CERTA_ENOMEM, "building PKCS#7");
    }
    /* si is ci's from here on. */
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const EVP_MD *m = EVP_get_digestbyobj(si->digest_alg->algorithm);
    X509_ALGOR *alg = X509_ALGOR_dup(si->digest_alg);
    if (alg != NULL && !sk_X509_ALGOR_push(ci->d->md_algs, alg)) {
        X509_ALGOR_free(alg);
        alg = NULL;
    }
    int ok = alg != NULL && m != NULL && (ci->d->contents->content = ASN1_OCTET_STRING_new()) != NULL &&
             (content == NULL || ASN1_OCTET_STRING_set(ci->d->contents->content, content, (int)len)) &&
             EVP_Digest(content ? content : (const unsigned char *)"", content ? len : 0, md, &mdlen, m, NULL) &&
             PKCS7_add_attrib_content_type(si, NULL) && PKCS7_add0_attrib_signing_time(si, NULL) &&
             PKCS7_add1_attrib_digest(si, md, (int)mdlen) && PKCS7_SIGNER_INFO_sign(si) == 1 && add_cert(ci->d, cert);
    for (int i = 0; ok && extra != NULL && i < sk_X509_num(extra); i++)
        ok = add_cert(ci->d, sk_X509_value(extra, i));
    int rc = ok ? to_buf(ci, out) : certa_error_ossl(CERTA_ECRYPTO, "signing PKCS#7");
    ASN1_item_free((ASN1_VALUE *)ci, ASN1_ITEM_rptr(SCEP_CONTENT_INFO));
    return rc;
}

int scep_signed_data(X509 *cert, EVP_PKEY *key, int md_nid, const unsigned char *content, size_t len,
                     certa_buf *out)
{
    PKCS7_SIGNER_INFO *si = signer_new(cert, key, md_nid);
    if (si == NULL)
        return certa_error_ossl(CERTA_ECRYPTO, "preparing SignedData");
    return signed_final(si, cert, NULL, content, len, out);
}

int scep_certrep(const struct scep_reply *r, certa_buf *out)
{
    const struct scep_nids *n = scep_nids();
    certa_buf envder = { 0 };
    char num[8];
    unsigned char nonce[16];
    PKCS7_SIGNER_INFO *si = signer_new(r->sign_cert, r->sign_key, r->md_nid);
    if (si == NULL)
        return certa_error_ossl(CERTA_ECRYPTO, "preparing the CertRep");
    if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
        PKCS7_SIGNER_INFO_free(si);
        return certa_error_ossl(CERTA_ECRYPTO, "no random senderNonce");
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
        PKCS7_SIGNER_INFO_free(si);
        return certa_error_ossl(CERTA_ENOMEM, "adding CertRep attributes");
    }
    int rc = 0;
    if (r->status == SCEP_SUCCESS && r->content != NULL &&
        (rc = scep_envelope_for(r->req, r->content, r->content_len, &envder)) < 0) {
        PKCS7_SIGNER_INFO_free(si);
        return rc;
    }
    rc = signed_final(si, r->sign_cert, r->extra_certs, envder.data, envder.len, out);
    certa_buf_free(&envder);
    return rc;
}
