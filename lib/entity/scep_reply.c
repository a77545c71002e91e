/* Reading a SCEP CertRep as a client: the signature must be by the CA or
 * RA certificate we authenticated, the transactionID and recipientNonce
 * must be ours, and on SUCCESS the envelope (encrypted to our signing
 * certificate) holds a degenerate certs-only PKCS#7. */
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/provider.h>
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

int certa_scep_envelope_open(const unsigned char *der, size_t len, EVP_PKEY *key, X509 *cert, int legacy,
                             certa_buf *out)
{
    OSSL_LIB_CTX *lctx = NULL;
    OSSL_PROVIDER *prov_default = NULL, *prov_legacy = NULL;
    PKCS7 *env = NULL;
    BIO *in = BIO_new_mem_buf(der, (int)len), *plain = BIO_new(BIO_s_mem());
    char name[80] = "";
    int rc = 0;
    if (in == NULL || plain == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    /* Peek at the cipher first: single DES is only in the legacy provider,
     * which we load into a context of its own, never the default one. */
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
        if ((lctx = OSSL_LIB_CTX_new()) == NULL || (prov_default = OSSL_PROVIDER_load(lctx, "default")) == NULL ||
            (prov_legacy = OSSL_PROVIDER_load(lctx, "legacy")) == NULL) {
            rc = certa_error_ossl(CERTA_EUNSUPPORTED, "the server used single DES but OpenSSL's legacy "
                                  "provider cannot be loaded");
            goto out;
        }
        PKCS7_free(env);
        /* d2i into an object made in lctx so the decryption fetches there. */
        if ((env = PKCS7_new_ex(lctx, NULL)) == NULL || d2i_PKCS7_bio(in, &env) == NULL) {
            rc = certa_error_ossl(CERTA_EPROTO, "cannot re-read the CertRep envelope");
            goto out;
        }
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
    BIO_free(in);
    BIO_free(plain);
    OSSL_PROVIDER_unload(prov_legacy);
    OSSL_PROVIDER_unload(prov_default);
    OSSL_LIB_CTX_free(lctx);
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
