/* Writing SCEP answers with OpenSSL's PKCS#7: the signed CertRep with its
 * attributes and, on SUCCESS, the reply enveloped for the requester with
 * the cipher it used; certs-only structures for GetCACert and replies. */
#include <limits.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
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

/* The content-encryption key for the requester's RSA key (PKCS#1 v1.5,
 * as RFC 8894 3.2.1 uses it) into ri. */
static int encrypt_key(PKCS7_RECIP_INFO *ri, EVP_PKEY *pub, const unsigned char *key, size_t klen)
{
    unsigned char *ek = NULL;
    size_t eklen = 0;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pub, NULL);
    int ok = pc != NULL && EVP_PKEY_encrypt_init(pc) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_encrypt(pc, NULL, &eklen, key, klen) == 1 && eklen <= INT_MAX &&
             (ek = OPENSSL_malloc(eklen)) != NULL && EVP_PKEY_encrypt(pc, ek, &eklen, key, klen) == 1;
    EVP_PKEY_CTX_free(pc);
    if (ok)
        ASN1_STRING_set0(ri->enc_key, ek, (int)eklen);
    else
        OPENSSL_free(ek);
    return ok && X509_ALGOR_set0(ri->key_enc_algor, OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL, NULL);
}

/* The reply's pkcsPKIEnvelope: content enveloped for the requester, named
 * by the issuer and serial its SignerInfo gave, with the cipher its own
 * envelope used. Assembled here rather than by PKCS7_encrypt, which wants
 * the recipient as a decoded X509 (and so a decoded key, scep_decode.c). */
static int envelope_for(const struct scep_msg *req, const unsigned char *content, size_t len, certa_buf *out)
{
    const EVP_CIPHER *cipher = EVP_get_cipherbynid(req->cipher_nid);
    const PKCS7_ISSUER_AND_SERIAL *ias = req->si->issuer_and_serial;
    unsigned char key[EVP_MAX_KEY_LENGTH], iv[EVP_MAX_IV_LENGTH], *ct = NULL;
    int ctlen = 0, fin = 0, rc = 0;
    PKCS7 *env = PKCS7_new();
    PKCS7_RECIP_INFO *ri = PKCS7_RECIP_INFO_new();
    EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
    int klen = cipher ? EVP_CIPHER_get_key_length(cipher) : 0, ivlen = cipher ? EVP_CIPHER_get_iv_length(cipher) : 0;
    if (cipher == NULL || ias == NULL || req->signer_key == NULL || len > SCEP_MSG_MAX || klen <= 0 ||
        klen > (int)sizeof(key) || ivlen <= 0 || ivlen > (int)sizeof(iv)) {
        rc = certa_error_set(CERTA_ECRYPTO, "enveloping the reply for the requester: no usable cipher or key");
        goto out;
    }
    /* EVP_CIPHER_CTX_rand_key: DES keys get their parity bits. */
    int ok = env != NULL && ri != NULL && cc != NULL && PKCS7_set_type(env, NID_pkcs7_enveloped) &&
             EVP_EncryptInit_ex(cc, cipher, NULL, NULL, NULL) == 1 && EVP_CIPHER_CTX_rand_key(cc, key) == 1 &&
             RAND_bytes(iv, ivlen) == 1 && EVP_EncryptInit_ex(cc, NULL, NULL, key, iv) == 1 &&
             (ct = OPENSSL_malloc(len + (size_t)EVP_CIPHER_get_block_size(cipher))) != NULL &&
             EVP_EncryptUpdate(cc, ct, &ctlen, content, (int)len) == 1 &&
             EVP_EncryptFinal_ex(cc, ct + ctlen, &fin) == 1;
    PKCS7_ENC_CONTENT *ec = ok ? env->d.enveloped->enc_data : NULL;
    ok = ok && (ec->enc_data = ASN1_OCTET_STRING_new()) != NULL;
    if (ok) {
        ASN1_STRING_set0(ec->enc_data, ct, ctlen + fin);
        ct = NULL;
    }
    ok = ok && X509_ALGOR_set0(ec->algorithm, OBJ_nid2obj(EVP_CIPHER_get_type(cipher)), V_ASN1_UNDEF, NULL) &&
         (ec->algorithm->parameter = ASN1_TYPE_new()) != NULL &&
         EVP_CIPHER_param_to_asn1(cc, ec->algorithm->parameter) > 0 && ASN1_INTEGER_set(ri->version, 0) &&
         X509_NAME_set(&ri->issuer_and_serial->issuer, ias->issuer);
    if (ok) {
        ASN1_INTEGER_free(ri->issuer_and_serial->serial);
        ok = (ri->issuer_and_serial->serial = ASN1_INTEGER_dup(ias->serial)) != NULL &&
             encrypt_key(ri, req->signer_key, key, (size_t)klen) && PKCS7_add_recipient_info(env, ri);
    }
    if (!ok) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "enveloping the reply for the requester");
        goto out;
    }
    ri = NULL;                  /* env's now */
    rc = to_buf(env, out);
out:
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_free(ct);
    EVP_CIPHER_CTX_free(cc);
    PKCS7_RECIP_INFO_free(ri);
    PKCS7_free(env);
    return rc;
}

int scep_certrep(const struct scep_reply *r, certa_buf *out)
{
    const struct scep_nids *n = scep_nids();
    PKCS7_SIGNER_INFO *si;
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
        if ((rc = envelope_for(r->req, r->content, r->content_len, &envder)) < 0)
            goto out;
        rc = signed_final(p7, envder.data, envder.len, out);
    } else {
        rc = signed_final(p7, NULL, 0, out);
    }
out:
    PKCS7_free(p7);
    certa_buf_free(&envder);
    return rc;
}
