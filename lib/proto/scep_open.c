/* Checking and opening a parsed pkiMessage: the signer's signature over its
 * signed attributes (digest algorithm gated by legacy) as CMS (RFC 5652
 * 5.4, 5.6) defines it, then the pkcsPKIEnvelope decrypted with OpenSSL's
 * PKCS#7 for our recipient certificate. */
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include "scep_internal.h"

/* messageDigest is the content's digest, contentType (when present) the
 * content's type, and the signature covers the signed attributes' DER.
 * NULL when all hold, else which does not. */
static const char *signature_problem(const struct scep_msg *m)
{
    const EVP_MD *md = EVP_get_digestbynid(m->md_nid);
    const ASN1_TYPE *digest = PKCS7_get_signed_attribute(m->si, NID_pkcs9_messageDigest);
    const ASN1_TYPE *type = PKCS7_get_signed_attribute(m->si, NID_pkcs9_contentType);
    unsigned char dig[EVP_MAX_MD_SIZE], *attrs = NULL;
    unsigned int dlen = 0;
    if (md == NULL || m->econtent == NULL || m->si->enc_digest == NULL)
        return "signature does not verify (no signed content)";
    if (type != NULL && (type->type != V_ASN1_OBJECT || OBJ_cmp(type->value.object, m->econtent_type) != 0))
        return "contentType attribute is not the signed content's type";
    if (digest == NULL || digest->type != V_ASN1_OCTET_STRING ||
        EVP_Digest(m->econtent, m->econtent_len, dig, &dlen, md, NULL) != 1 ||
        (unsigned int)ASN1_STRING_length(digest->value.octet_string) != dlen ||
        memcmp(ASN1_STRING_get0_data(digest->value.octet_string), dig, dlen) != 0)
        return "signed content does not match its messageDigest";
    /* Re-encoded as a SET OF (DER-sorted), as it was signed. */
    int alen = ASN1_item_i2d((ASN1_VALUE *)m->si->auth_attr, &attrs, ASN1_ITEM_rptr(PKCS7_ATTR_VERIFY));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = alen > 0 && ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, md, NULL, m->signer_key) == 1 &&
             EVP_DigestVerify(ctx, ASN1_STRING_get0_data(m->si->enc_digest),
                              (size_t)ASN1_STRING_length(m->si->enc_digest), attrs, (size_t)alen) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(attrs);
    return ok ? NULL : "signature does not verify";
}

int scep_msg_verify(struct scep_msg *m, int legacy, struct scep_fail_res *f)
{
    switch (m->md_nid) {
    case NID_sha224: case NID_sha256: case NID_sha384: case NID_sha512:
        break;
    case NID_sha1: case NID_md5:
        /* Old devices only: a CA must not accept them by accident. */
        if (legacy)
            break;
        return scep_fail(f, SCEP_BADALG, "%s digest refused ([scep] legacy = yes allows it)",
                         m->md_nid == NID_md5 ? "MD5" : "SHA-1");
    default:
        return scep_fail(f, SCEP_BADALG, "digest algorithm %s not supported", OBJ_nid2sn(m->md_nid));
    }
    if (m->signer_der == NULL)
        return scep_fail(f, SCEP_BADMESSAGECHECK, "signer certificate missing");
    if (m->signer_key == NULL)
        return scep_fail(f, SCEP_BADMESSAGECHECK, "signer certificate's public key unreadable");
    if (!m->md_announced)
        return scep_fail(f, SCEP_BADMESSAGECHECK, "signer's digest is not among the SignedData's digestAlgorithms");
    const char *problem = signature_problem(m);
    ERR_clear_error();
    if (problem != NULL)
        return scep_fail(f, SCEP_BADMESSAGECHECK, "%s", problem);
    return 0;
}

int scep_msg_open(struct scep_msg *m, X509 *rcert, EVP_PKEY *rkey, int legacy, struct scep_fail_res *f)
{
    PKCS7 *env = NULL;
    BIO *out = NULL;
    int rc = 1;
    if (m->econtent == NULL || m->econtent_len == 0 || OBJ_obj2nid(m->econtent_type) != NID_pkcs7_data)
        return scep_fail(f, SCEP_BADREQUEST, "no pkcsPKIEnvelope");
    const unsigned char *p = m->econtent;
    env = d2i_PKCS7(NULL, &p, (long)m->econtent_len);
    if (env == NULL || !PKCS7_type_is_enveloped(env) || env->d.enveloped == NULL ||
        env->d.enveloped->enc_data == NULL) {
        scep_fail(f, SCEP_BADMESSAGECHECK, "pkcsPKIEnvelope is not a PKCS#7 EnvelopedData");
        goto out;
    }
    STACK_OF(PKCS7_RECIP_INFO) *ris = env->d.enveloped->recipientinfo;
    int ours = 0;
    for (int i = 0; i < sk_PKCS7_RECIP_INFO_num(ris) && !ours; i++) {
        PKCS7_RECIP_INFO *ri = sk_PKCS7_RECIP_INFO_value(ris, i);
        ours = ri->issuer_and_serial != NULL &&
               X509_NAME_cmp(ri->issuer_and_serial->issuer, X509_get_issuer_name(rcert)) == 0 &&
               ASN1_INTEGER_cmp(ri->issuer_and_serial->serial, X509_get0_serialNumber(rcert)) == 0;
    }
    if (!ours) {
        scep_fail(f, SCEP_BADMESSAGECHECK, "pkcsPKIEnvelope is for another recipient");
        goto out;
    }
    m->cipher_nid = OBJ_obj2nid(env->d.enveloped->enc_data->algorithm->algorithm);
    switch (m->cipher_nid) {
    case NID_aes_128_cbc: case NID_aes_192_cbc: case NID_aes_256_cbc:
        break;
    case NID_des_ede3_cbc: case NID_des_cbc:
        /* Old devices (single DES: clients that predate GetCACaps, micromdm's
         * scepclient 2.1 too); refused unless the operator enabled them. */
        if (legacy)
            break;
        scep_fail(f, SCEP_BADALG, "%s envelope refused ([scep] legacy = yes allows it)",
                  m->cipher_nid == NID_des_cbc ? "single DES" : "DES3");
        goto out;
    default:
        scep_fail(f, SCEP_BADALG, "envelope cipher %s not supported (AES-CBC)",
                  OBJ_nid2sn(m->cipher_nid));
        goto out;
    }
    if ((out = BIO_new(BIO_s_mem())) == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    if (PKCS7_decrypt(env, rkey, rcert, out, PKCS7_BINARY) != 1) {
        scep_fail(f, SCEP_BADMESSAGECHECK, "pkcsPKIEnvelope does not decrypt");
        goto out;
    }
    char *data;
    long n = BIO_get_mem_data(out, &data);
    if (n <= 0 || n > SCEP_MSG_MAX) {
        scep_fail(f, SCEP_BADREQUEST, "pkcsPKIEnvelope content empty or too large");
        goto out;
    }
    if ((m->inner = OPENSSL_malloc((size_t)n)) == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(m->inner, data, (size_t)n);
    m->inner_len = (size_t)n;
    rc = 0;
out:
    ERR_clear_error();
    BIO_free(out);
    PKCS7_free(env);
    return rc;
}
