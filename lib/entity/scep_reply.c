/* Reading a SCEP CertRep as a client: the signature must be by the CA or
 * RA certificate we authenticated, the transactionID and recipientNonce
 * must be ours, and on SUCCESS the envelope (encrypted to our signing
 * certificate) holds a degenerate certs-only PKCS#7. */
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include "scep_msg.h"

void certa_scep_reply_clear(struct scep_reply *r)
{
    sk_X509_pop_free(r->certs, X509_free);
    memset(r, 0, sizeof(*r));
}

static const ASN1_STRING *attr(PKCS7_SIGNER_INFO *si, int nid, int type)
{
    ASN1_TYPE *t = PKCS7_get_signed_attribute(si, nid);
    return t != NULL && t->type == type ? t->value.asn1_string : NULL;
}

/* A PrintableString attribute holding a small decimal number, or -1. */
static int attr_number(PKCS7_SIGNER_INFO *si, int nid)
{
    const ASN1_STRING *s = attr(si, nid, V_ASN1_PRINTABLESTRING);
    if (s == NULL || ASN1_STRING_length(s) < 1 || ASN1_STRING_length(s) > 3)
        return -1;
    int v = 0;
    for (int i = 0; i < ASN1_STRING_length(s); i++) {
        unsigned char c = ASN1_STRING_get0_data(s)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

static int cipher_name(const PKCS7 *env, char *out, size_t len)
{
    const X509_ALGOR *alg = env->d.enveloped->enc_data->algorithm;
    return OBJ_obj2txt(out, (int)len, alg->algorithm, 0) > 0 ? OBJ_obj2nid(alg->algorithm) : NID_undef;
}

/* Single DES exists only in OpenSSL's legacy provider. Rather than run the
 * whole PKCS#7 decryption in a context holding it (which would also redo
 * the RSA work there), the content-encryption key is unwrapped with our
 * key as usual and only the DES-CBC cipher is fetched from a library
 * context of its own that holds nothing but the legacy provider, for this
 * call. The envelope's integrity comes from the CA's signature over it,
 * checked before this runs. */
static int open_single_des(PKCS7 *env, EVP_PKEY *key, X509 *cert, certa_buf *out)
{
    STACK_OF(PKCS7_RECIP_INFO) *ris = env->d.enveloped->recipientinfo;
    PKCS7_ENC_CONTENT *ec = env->d.enveloped->enc_data;
    OSSL_LIB_CTX *lctx = NULL;
    OSSL_PROVIDER *prov = NULL;
    EVP_CIPHER *des = NULL;
    EVP_CIPHER_CTX *cctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char cek[1024], iv[EVP_MAX_IV_LENGTH]; /* cek: RSA output needs the modulus size */
    size_t ceklen = sizeof(cek);
    int rc = 0, n = 0, fin = 0;
    PKCS7_RECIP_INFO *ri = NULL;
    for (int i = 0; i < sk_PKCS7_RECIP_INFO_num(ris) && ri == NULL; i++) {
        PKCS7_RECIP_INFO *r = sk_PKCS7_RECIP_INFO_value(ris, i);
        if (X509_NAME_cmp(r->issuer_and_serial->issuer, X509_get_issuer_name(cert)) == 0 &&
            ASN1_INTEGER_cmp(r->issuer_and_serial->serial, X509_get0_serialNumber(cert)) == 0)
            ri = r;
    }
    if (ri == NULL || ec->enc_data == NULL || ec->algorithm->parameter == NULL ||
        ASN1_TYPE_get_octetstring(ec->algorithm->parameter, iv, sizeof(iv)) != 8) {
        rc = certa_error_set(CERTA_EPROTO, "the CertRep's envelope is not addressed to our certificate "
                             "or has no DES IV");
        goto out;
    }
    if ((pctx = EVP_PKEY_CTX_new(key, NULL)) == NULL || EVP_PKEY_decrypt_init(pctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_decrypt(pctx, cek, &ceklen, ASN1_STRING_get0_data(ri->enc_key),
                         (size_t)ASN1_STRING_length(ri->enc_key)) <= 0 || ceklen != 8) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot decrypt the CertRep (des-cbc) with our key");
        goto out;
    }
    if ((lctx = OSSL_LIB_CTX_new()) == NULL || (prov = OSSL_PROVIDER_load(lctx, "legacy")) == NULL ||
        (des = EVP_CIPHER_fetch(lctx, "DES-CBC", NULL)) == NULL) {
        rc = certa_error_ossl(CERTA_EUNSUPPORTED, "the server used single DES but OpenSSL's legacy provider "
                              "cannot be loaded");
        goto out;
    }
    int clen = ASN1_STRING_length(ec->enc_data);
    if ((rc = certa_buf_reserve(out, (size_t)clen + 8)) < 0)
        goto out;
    if ((cctx = EVP_CIPHER_CTX_new()) == NULL || !EVP_DecryptInit_ex2(cctx, des, cek, iv, NULL) ||
        !EVP_DecryptUpdate(cctx, out->data + out->len, &n, ASN1_STRING_get0_data(ec->enc_data), clen) ||
        !EVP_DecryptFinal_ex(cctx, out->data + out->len + n, &fin)) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot decrypt the CertRep (des-cbc): wrong key or corrupt content");
        goto out;
    }
    out->len += (size_t)(n + fin);
out:
    certa_memzero(cek, sizeof(cek));
    EVP_CIPHER_CTX_free(cctx);
    EVP_PKEY_CTX_free(pctx);
    EVP_CIPHER_free(des);
    OSSL_PROVIDER_unload(prov);
    OSSL_LIB_CTX_free(lctx);
    return rc;
}

int certa_scep_envelope_open(const unsigned char *der, size_t len, EVP_PKEY *key, X509 *cert, int legacy,
                             certa_buf *out)
{
    PKCS7 *env = NULL;
    BIO *plain = BIO_new(BIO_s_mem());
    char name[80] = "";
    int rc = 0;
    if (plain == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    const unsigned char *p = der;
    if ((env = d2i_PKCS7(NULL, &p, (long)len)) == NULL || p != der + len || !PKCS7_type_is_enveloped(env) ||
        env->d.enveloped->enc_data == NULL || env->d.enveloped->enc_data->algorithm == NULL) {
        rc = certa_error_set(CERTA_EPROTO, "the CertRep's content is not a PKCS#7 EnvelopedData "
                             "(malformed or truncated)");
        goto out;
    }
    int nid = cipher_name(env, name, sizeof(name));
    if (nid == NID_des_cbc && !legacy) {
        rc = certa_error_set(CERTA_EPOLICY, "the server used single DES (des-cbc) to encrypt its answer, "
                             "a broken cipher; --legacy on the trustpoint would allow it");
        goto out;
    }
    if (nid == NID_des_ede3_cbc && !legacy) {
        rc = certa_error_set(CERTA_EPOLICY, "the server used 3DES (des-ede3-cbc) to encrypt its answer; "
                             "--legacy on the trustpoint would allow it");
        goto out;
    }
    if (nid == NID_des_cbc) {
        rc = open_single_des(env, key, cert, out);
        goto out;
    }
    if (!PKCS7_decrypt(env, key, cert, plain, PKCS7_BINARY)) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot decrypt the CertRep (%s) with our key", name);
        goto out;
    }
    char *data = NULL;
    long n = BIO_get_mem_data(plain, &data);
    rc = certa_buf_append(out, data, (size_t)n);
out:
    ERR_clear_error();
    PKCS7_free(env);
    BIO_free(plain);
    return rc;
}

static int signer_digest_ok(PKCS7_SIGNER_INFO *si, int legacy)
{
    X509_ALGOR *dig = NULL;
    PKCS7_SIGNER_INFO_get0_algs(si, NULL, &dig, NULL);
    int nid = dig != NULL ? OBJ_obj2nid(dig->algorithm) : NID_undef;
    if (nid == NID_md5 || (nid == NID_sha1 && !legacy))
        return certa_error_set(CERTA_EPOLICY, "the CertRep is signed with %s; %s", OBJ_nid2sn(nid),
                               nid == NID_sha1 ? "--legacy on the trustpoint would allow it" : "refused");
    return 0;
}

static int certs_only(const unsigned char *der, size_t len, STACK_OF(X509) **out)
{
    const unsigned char *p = der;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
    int rc = 0;
    if (p7 == NULL || p != der + len || !PKCS7_type_is_signed(p7) || p7->d.sign == NULL ||
        sk_X509_num(p7->d.sign->cert) == 0) {
        rc = certa_error_set(CERTA_EPROTO, "the decrypted CertRep holds no certs-only PKCS#7 with a certificate");
        goto out;
    }
    *out = p7->d.sign->cert;
    p7->d.sign->cert = NULL;
out:
    PKCS7_free(p7);
    return rc;
}

int certa_scep_reply_decode(const unsigned char *der, size_t len, const struct scep_expect *exp,
                            struct scep_reply *out)
{
    struct scep_nids nids;
    PKCS7 *p7 = NULL;
    X509_STORE *store = X509_STORE_new();
    BIO *content = BIO_new(BIO_s_mem()), *detached = NULL;
    certa_buf plain = { 0 };
    int rc;
    memset(out, 0, sizeof(*out));
    out->fail_info = -1;
    if ((rc = certa_scep_nids(&nids)) < 0)
        goto out;
    if (store == NULL || content == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    if (len == 0) {
        rc = certa_error_set(CERTA_EPROTO, "the server sent an empty answer instead of a CertRep");
        goto out;
    }
    if (len > SCEP_REPLY_MAX) {
        rc = certa_error_set(CERTA_ETOOBIG, "the CertRep is larger than %d bytes", SCEP_REPLY_MAX);
        goto out;
    }
    const unsigned char *p = der;
    if ((p7 = d2i_PKCS7(NULL, &p, (long)len)) == NULL || p != der + len) {
        rc = certa_error_set(CERTA_EPROTO, "the CertRep is not valid PKCS#7 (malformed or truncated, %zu bytes)",
                             len);
        goto out;
    }
    STACK_OF(PKCS7_SIGNER_INFO) *sis = PKCS7_type_is_signed(p7) ? PKCS7_get_signer_info(p7) : NULL;
    if (sis == NULL || sk_PKCS7_SIGNER_INFO_num(sis) != 1) {
        rc = certa_error_set(CERTA_EPROTO, "the CertRep is not a PKCS#7 SignedData with one signer");
        goto out;
    }
    PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(sis, 0);
    /* FAILURE and PENDING may carry no content at all. */
    if (PKCS7_get_detached(p7) && (detached = BIO_new_mem_buf("", 0)) == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    /* NOINTERN: only the CA/RA certificates we authenticated may sign;
     * NOVERIFY: they are pinned, there is no chain to build. */
    if (PKCS7_verify(p7, exp->signers, store, detached, content,
                     PKCS7_NOINTERN | PKCS7_NOVERIFY | PKCS7_BINARY | PKCS7_NOCHAIN) != 1) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "the CertRep signature does not verify against the trustpoint's "
                              "CA/RA certificate");
        goto out;
    }
    if (attr_number(si, nids.message_type) != SCEP_CERTREP) {
        rc = certa_error_set(CERTA_EPROTO, "the answer is not a CertRep (messageType %d)",
                             attr_number(si, nids.message_type));
        goto out;
    }
    const ASN1_STRING *txid = attr(si, nids.transaction_id, V_ASN1_PRINTABLESTRING);
    size_t txlen = strlen(exp->transaction_id);
    if (txid == NULL || (size_t)ASN1_STRING_length(txid) != txlen ||
        memcmp(ASN1_STRING_get0_data(txid), exp->transaction_id, txlen) != 0) {
        rc = certa_error_set(CERTA_EPROTO, "the CertRep has the wrong transactionID (not our transaction %s)",
                             exp->transaction_id);
        goto out;
    }
    const ASN1_STRING *rn = attr(si, nids.recipient_nonce, V_ASN1_OCTET_STRING);
    if (rn == NULL || ASN1_STRING_length(rn) != SCEP_NONCE_LEN ||
        !certa_memeq_ct(ASN1_STRING_get0_data(rn), exp->sender_nonce, SCEP_NONCE_LEN)) {
        rc = certa_error_set(CERTA_EPROTO, "the CertRep's recipientNonce is not the senderNonce we sent "
                             "(a replayed or misdirected answer)");
        goto out;
    }
    int status = attr_number(si, nids.pki_status);
    switch (status) {
    case SCEP_PENDING:
        out->status = SCEP_PENDING;
        rc = signer_digest_ok(si, exp->legacy);
        goto out;
    case SCEP_FAILURE:
        out->status = SCEP_FAILURE;
        out->fail_info = attr_number(si, nids.fail_info);
        rc = signer_digest_ok(si, exp->legacy);
        goto out;
    case SCEP_SUCCESS:
        break;
    default:
        rc = certa_error_set(CERTA_EPROTO, "the CertRep has no valid pkiStatus (%d)", status);
        goto out;
    }
    char *data = NULL;
    long n = BIO_get_mem_data(content, &data);
    if (n <= 0) {
        rc = certa_error_set(CERTA_EPROTO, "the CertRep says SUCCESS but carries no content");
        goto out;
    }
    if ((rc = certa_scep_envelope_open((const unsigned char *)data, (size_t)n, exp->key, exp->cert, exp->legacy,
                                       &plain)) < 0 ||
        (rc = certs_only(plain.data, plain.len, &out->certs)) < 0)
        goto out;
    out->status = SCEP_SUCCESS;
    /* Checked last so that a legacy cipher is what gets named when the
     * answer has both (micromdm: single DES, SHA-1). */
    rc = signer_digest_ok(si, exp->legacy);
out:
    if (rc < 0)
        certa_scep_reply_clear(out);
    ERR_clear_error();
    certa_buf_free(&plain);
    BIO_free(detached);
    BIO_free(content);
    X509_STORE_free(store);
    PKCS7_free(p7);
    return rc;
}
