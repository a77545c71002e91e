/* The pkiMessage a SCEP client sends: the inner request (PKCS#10 or
 * IssuerAndSubject) enveloped to the RA/CA certificate, then signed with the
 * requester's key, carrying transactionID, messageType and senderNonce as
 * authenticated attributes (RFC 8894 section 3). */
#include <stdio.h>
#include <string.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include "scep_msg.h"

/* IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name } */
typedef struct {
    X509_NAME *issuer;
    X509_NAME *subject;
} SCEP_IAS;
ASN1_SEQUENCE(SCEP_IAS) = {
    ASN1_SIMPLE(SCEP_IAS, issuer, X509_NAME),
    ASN1_SIMPLE(SCEP_IAS, subject, X509_NAME),
} static_ASN1_SEQUENCE_END(SCEP_IAS)

static const struct {
    const char *oid, *sn;
} attr_oids[] = {
    { "2.16.840.1.113733.1.9.2", "messageType" },  { "2.16.840.1.113733.1.9.3", "pkiStatus" },
    { "2.16.840.1.113733.1.9.4", "failInfo" },     { "2.16.840.1.113733.1.9.5", "senderNonce" },
    { "2.16.840.1.113733.1.9.6", "recipientNonce" }, { "2.16.840.1.113733.1.9.7", "transactionID" },
};

int certa_scep_nids(struct scep_nids *out)
{
    int nids[6];
    for (size_t i = 0; i < 6; i++) {
        /* The server module may have registered them already. */
        int nid = OBJ_txt2nid(attr_oids[i].oid);
        if (nid == NID_undef)
            nid = OBJ_create(attr_oids[i].oid, attr_oids[i].sn, attr_oids[i].sn);
        if (nid == NID_undef) {
            ERR_clear_error();
            nid = OBJ_txt2nid(attr_oids[i].oid);
        }
        if (nid == NID_undef)
            return certa_error_ossl(CERTA_ECRYPTO, "cannot register the SCEP attribute %s", attr_oids[i].sn);
        nids[i] = nid;
    }
    ERR_clear_error();
    out->message_type = nids[0];
    out->pki_status = nids[1];
    out->fail_info = nids[2];
    out->sender_nonce = nids[3];
    out->recipient_nonce = nids[4];
    out->transaction_id = nids[5];
    return 0;
}

const char *certa_scep_fail_name(int fail_info)
{
    static const char *const names[] = { "badAlg", "badMessageCheck", "badRequest", "badTime", "badCertId" };
    return fail_info >= 0 && fail_info < 5 ? names[fail_info] : "unknown failInfo";
}

int certa_scep_new_nonce(unsigned char nonce[SCEP_NONCE_LEN])
{
    if (RAND_bytes(nonce, SCEP_NONCE_LEN) != 1)
        return certa_error_ossl(CERTA_ECRYPTO, "no random bytes for a SCEP nonce");
    return 0;
}

int certa_scep_new_transaction(char *txid, size_t len)
{
    unsigned char raw[16];
    if (len < 2 * sizeof(raw) + 1)
        return certa_error_set(CERTA_EINVAL, "transaction buffer too small");
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return certa_error_ossl(CERTA_ECRYPTO, "no random bytes for a SCEP transactionID");
    certa_hex_encode(raw, sizeof(raw), txid);
    return 0;
}

int certa_scep_transient_cert(EVP_PKEY *key, const X509_NAME *subject, const EVP_MD *md, X509 **out)
{
    X509 *x = X509_new();
    BIGNUM *bn = BN_new();
    int rc = 0;
    *out = NULL;
    if (x == NULL || bn == NULL || !BN_rand(bn, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
        !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) || !X509_set_version(x, 2) ||
        !X509_set_subject_name(x, subject) || !X509_set_issuer_name(x, subject) ||
        /* An hour back for clock skew between device and CA. */
        X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL || !X509_set_pubkey(x, key) ||
        !X509_sign(x, key, EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? NULL : md)) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot make the transient signing certificate");
        X509_free(x);
        goto out;
    }
    *out = x;
out:
    BN_free(bn);
    return rc;
}

int certa_scep_issuer_and_subject(const X509_NAME *issuer, const X509_NAME *subject, certa_buf *out)
{
    SCEP_IAS ias = { (X509_NAME *)issuer, (X509_NAME *)subject };
    unsigned char *der = NULL;
    int n = ASN1_item_i2d((ASN1_VALUE *)&ias, &der, ASN1_ITEM_rptr(SCEP_IAS));
    if (n <= 0)
        return certa_error_ossl(CERTA_ECRYPTO, "cannot encode the CertPoll IssuerAndSubject");
    int rc = certa_buf_append(out, der, (size_t)n);
    OPENSSL_free(der);
    return rc;
}

static int envelope(const struct scep_request *req, certa_buf *out)
{
    STACK_OF(X509) *to = sk_X509_new_null();
    BIO *in = BIO_new_mem_buf(req->inner, (int)req->inner_len);
    PKCS7 *p7 = NULL;
    unsigned char *der = NULL;
    int n, rc = 0;
    if (to == NULL || in == NULL || !sk_X509_push(to, req->recipient)) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    if ((p7 = PKCS7_encrypt(to, in, req->algs->cipher, PKCS7_BINARY)) == NULL ||
        (n = i2d_PKCS7(p7, &der)) <= 0) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot encrypt the request to the CA's certificate");
        goto out;
    }
    rc = certa_buf_append(out, der, (size_t)n);
out:
    OPENSSL_free(der);
    PKCS7_free(p7);
    BIO_free(in);
    sk_X509_free(to);
    return rc;
}

static int add_string(PKCS7_SIGNER_INFO *si, int nid, int type, const void *data, int len)
{
    ASN1_STRING *s = ASN1_STRING_type_new(type);
    if (s == NULL || !ASN1_STRING_set(s, data, len) || !PKCS7_add_signed_attribute(si, nid, type, s)) {
        ASN1_STRING_free(s);
        return certa_error_ossl(CERTA_ECRYPTO, "cannot add a SCEP attribute");
    }
    return 0;
}

int certa_scep_request_encode(const struct scep_request *req, certa_buf *out)
{
    struct scep_nids nids;
    certa_buf env = { 0 };
    PKCS7 *p7 = NULL;
    BIO *data = NULL;
    unsigned char *der = NULL;
    char type[8];
    int n, rc;
    if ((rc = certa_scep_nids(&nids)) < 0 || (rc = envelope(req, &env)) < 0)
        goto out;
    /* PARTIAL: the SCEP attributes go in before the signature is made. */
    p7 = PKCS7_sign(NULL, NULL, NULL, NULL, PKCS7_BINARY | PKCS7_PARTIAL);
    PKCS7_SIGNER_INFO *si = p7 == NULL ? NULL
                                       : PKCS7_sign_add_signer(p7, req->signer, req->key, req->algs->md,
                                                               PKCS7_BINARY | PKCS7_NOSMIMECAP);
    if (si == NULL) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot sign the SCEP request with this key");
        goto out;
    }
    snprintf(type, sizeof(type), "%d", (int)req->type);
    if ((rc = add_string(si, nids.transaction_id, V_ASN1_PRINTABLESTRING, req->transaction_id,
                         (int)strlen(req->transaction_id))) < 0 ||
        (rc = add_string(si, nids.message_type, V_ASN1_PRINTABLESTRING, type, (int)strlen(type))) < 0 ||
        (rc = add_string(si, nids.sender_nonce, V_ASN1_OCTET_STRING, req->sender_nonce, SCEP_NONCE_LEN)) < 0)
        goto out;
    if ((data = BIO_new_mem_buf(env.data, (int)env.len)) == NULL || !PKCS7_final(p7, data, PKCS7_BINARY) ||
        (n = i2d_PKCS7(p7, &der)) <= 0) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot sign the SCEP request");
        goto out;
    }
    rc = certa_buf_append(out, der, (size_t)n);
out:
    OPENSSL_free(der);
    BIO_free(data);
    PKCS7_free(p7);
    certa_buf_free(&env);
    return rc;
}
