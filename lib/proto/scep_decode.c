/* Reading a SCEP pkiMessage with OpenSSL's PKCS#7: the SignedData and its
 * SCEP attributes, the signature (digest algorithm gated by legacy), and
 * the pkcsPKIEnvelope decrypted for our recipient certificate. */
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include "scep_internal.h"

void scep_msg_clear(struct scep_msg *m)
{
    if (m == NULL)
        return;
    PKCS7_free(m->p7);
    OPENSSL_clear_free(m->inner, m->inner_len);
    memset(m, 0, sizeof(*m));
}

/* A string-valued attribute (PrintableString as RFC 8894 says; IA5 and
 * UTF8 from lenient clients) into out; 0 when absent or unusable. */
static int attr_string(PKCS7_SIGNER_INFO *si, int nid, char *out, size_t out_len)
{
    ASN1_TYPE *t = PKCS7_get_signed_attribute(si, nid);
    if (t == NULL)
        return 0;
    if (t->type != V_ASN1_PRINTABLESTRING && t->type != V_ASN1_IA5STRING && t->type != V_ASN1_UTF8STRING)
        return 0;
    const ASN1_STRING *s = t->value.asn1_string;
    int n = ASN1_STRING_length(s);
    const unsigned char *d = ASN1_STRING_get0_data(s);
    if (n <= 0 || (size_t)n >= out_len)
        return 0;
    for (int i = 0; i < n; i++)
        if (d[i] < 0x20 || d[i] > 0x7e)
            return 0;
    memcpy(out, d, (size_t)n);
    out[n] = '\0';
    return 1;
}

int scep_msg_parse(const unsigned char *der, size_t len, struct scep_msg *m)
{
    const struct scep_nids *n = scep_nids();
    memset(m, 0, sizeof(*m));
    m->msg_type = -1;
    if (len == 0 || len > SCEP_MSG_MAX)
        return certa_error_set(CERTA_EPROTO, "message empty or over %d bytes", SCEP_MSG_MAX);
    const unsigned char *p = der;
    m->p7 = d2i_PKCS7(NULL, &p, (long)len);
    if (m->p7 == NULL || p != der + len) {
        ERR_clear_error();
        return certa_error_set(CERTA_EPROTO, "not a PKCS#7 message (garbage or truncated)");
    }
    if (!PKCS7_type_is_signed(m->p7) || m->p7->d.sign == NULL)
        return certa_error_set(CERTA_EPROTO, "not a PKCS#7 SignedData");
    STACK_OF(PKCS7_SIGNER_INFO) *sis = PKCS7_get_signer_info(m->p7);
    if (sis == NULL || sk_PKCS7_SIGNER_INFO_num(sis) != 1)
        return certa_error_set(CERTA_EPROTO, "SignedData without exactly one signer");
    m->si = sk_PKCS7_SIGNER_INFO_value(sis, 0);
    if (m->si->issuer_and_serial != NULL && m->p7->d.sign->cert != NULL)
        m->signer = X509_find_by_issuer_and_serial(m->p7->d.sign->cert, m->si->issuer_and_serial->issuer,
                                                   m->si->issuer_and_serial->serial);
    if (!attr_string(m->si, n->transaction_id, m->txid, sizeof(m->txid)))
        return certa_error_set(CERTA_EPROTO, "no usable transactionID");
    ASN1_TYPE *t = PKCS7_get_signed_attribute(m->si, n->sender_nonce);
    if (t == NULL || t->type != V_ASN1_OCTET_STRING || ASN1_STRING_length(t->value.octet_string) <= 0 ||
        ASN1_STRING_length(t->value.octet_string) > SCEP_NONCE_MAX)
        return certa_error_set(CERTA_EPROTO, "no usable senderNonce");
    m->nonce_len = (size_t)ASN1_STRING_length(t->value.octet_string);
    memcpy(m->nonce, ASN1_STRING_get0_data(t->value.octet_string), m->nonce_len);
    char type[8];
    if (attr_string(m->si, n->message_type, type, sizeof(type))) {
        char *end;
        long v = strtol(type, &end, 10);
        if (*end == '\0' && end != type && v >= 0 && v < 100)
            m->msg_type = (int)v;
    }
    m->md_nid = m->si->digest_alg ? OBJ_obj2nid(m->si->digest_alg->algorithm) : NID_undef;
    return 0;
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
    if (m->signer == NULL)
        return scep_fail(f, SCEP_BADMESSAGECHECK, "signer certificate missing");
    BIO *sink = BIO_new(BIO_s_null());
    int ok = sink != NULL &&
             PKCS7_verify(m->p7, NULL, NULL, NULL, sink, PKCS7_NOVERIFY | PKCS7_BINARY | PKCS7_NOCRL) == 1;
    BIO_free(sink);
    ERR_clear_error();
    if (!ok)
        return scep_fail(f, SCEP_BADMESSAGECHECK, "signature does not verify");
    return 0;
}

int scep_msg_open(struct scep_msg *m, X509 *rcert, EVP_PKEY *rkey, int legacy, struct scep_fail_res *f)
{
    PKCS7 *env = NULL;
    BIO *out = NULL;
    int rc = 1;
    ASN1_OCTET_STRING *os = PKCS7_get_octet_string(m->p7->d.sign->contents);
    if (os == NULL || ASN1_STRING_length(os) <= 0)
        return scep_fail(f, SCEP_BADREQUEST, "no pkcsPKIEnvelope");
    const unsigned char *p = ASN1_STRING_get0_data(os);
    env = d2i_PKCS7(NULL, &p, ASN1_STRING_length(os));
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
