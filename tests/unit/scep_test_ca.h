/* A SCEP CA for the unit tests, in OpenSSL: self-signed certificates, and
 * CertReps with whatever status, attributes, signer and envelope a test
 * asks for (honest or crafted). Static functions, included by the
 * test_scep_client*.c files after testutil.h. */
#ifndef CERTA_SCEP_TEST_CA_H
#define CERTA_SCEP_TEST_CA_H

#include <stdio.h>
#include <string.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>
#include "entity/scep_msg.h"

static inline X509 *test_self_signed(EVP_PKEY *key, const char *cn, int ca)
{
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509 *x = NULL;
    assert_int_equal(certa_scep_transient_cert(key, n, EVP_sha256(), &x), 0);
    if (ca) {
        X509V3_CTX v3;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        X509_sign(x, key, EVP_sha256());
    }
    X509_NAME_free(n);
    return x;
}

/* A certificate for pub issued by ca (name CN=cn), valid for days. */
static inline X509 *test_issue(EVP_PKEY *pub, const char *cn, X509 *ca, EVP_PKEY *ca_key, int days)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(random() & 0xffffff) + 2);
    X509_set_version(x, 2);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, X509_get_subject_name(ca));
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * days);
    X509_set_pubkey(x, pub);
    assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
    X509_NAME_free(n);
    return x;
}

struct test_certrep {
    int status, fail_info;                 /* fail_info < 0: none */
    const char *txid;
    const unsigned char *recipient_nonce;  /* SCEP_NONCE_LEN bytes */
    EVP_PKEY *sign_key;
    X509 *sign_cert;
    const EVP_MD *md;                      /* NULL: SHA-256 */
    X509 *encrypt_to;                      /* SUCCESS: the requester's certificate */
    const EVP_CIPHER *cipher;              /* NULL: AES-128-CBC */
    int single_des;
    X509 *issued;                          /* SUCCESS: returned certificate */
};

static inline void test_add_attr(PKCS7_SIGNER_INFO *si, int nid, int type, const void *d, int len)
{
    ASN1_STRING *s = ASN1_STRING_type_new(type);
    ASN1_STRING_set(s, d, len);
    assert_int_equal(PKCS7_add_signed_attribute(si, nid, type, s), 1);
}

static inline void test_add_number(PKCS7_SIGNER_INFO *si, int nid, int v)
{
    char num[16];
    snprintf(num, sizeof(num), "%d", v);
    test_add_attr(si, nid, V_ASN1_PRINTABLESTRING, num, (int)strlen(num));
}

static inline void test_envelope(const struct test_certrep *a, certa_buf *out)
{
    PKCS7 *deg = PKCS7_sign(NULL, NULL, NULL, NULL, PKCS7_PARTIAL);
    PKCS7_content_new(deg, NID_pkcs7_data);
    PKCS7_add_certificate(deg, a->issued);
    unsigned char *d = NULL;
    int n = i2d_PKCS7(deg, &d);
    STACK_OF(X509) *to = sk_X509_new_null();
    sk_X509_push(to, a->encrypt_to);
    BIO *in = BIO_new_mem_buf(d, n);
    OSSL_LIB_CTX *lctx = NULL;
    OSSL_PROVIDER *p1 = NULL, *p2 = NULL;
    EVP_CIPHER *fetched = NULL;
    PKCS7 *env;
    if (a->single_des) {
        /* As micromdm answers: single DES, made in a context of its own. */
        lctx = OSSL_LIB_CTX_new();
        p1 = OSSL_PROVIDER_load(lctx, "default");
        p2 = OSSL_PROVIDER_load(lctx, "legacy");
        assert_non_null(p2);
        fetched = EVP_CIPHER_fetch(lctx, "DES-CBC", NULL);
        assert_non_null(fetched);
        env = PKCS7_encrypt_ex(to, in, fetched, PKCS7_BINARY, lctx, NULL);
    } else {
        env = PKCS7_encrypt(to, in, a->cipher ? a->cipher : EVP_aes_128_cbc(), PKCS7_BINARY);
    }
    assert_non_null(env);
    unsigned char *e = NULL;
    int en = i2d_PKCS7(env, &e);
    certa_buf_append(out, e, (size_t)en);
    OPENSSL_free(e);
    OPENSSL_free(d);
    PKCS7_free(env);
    PKCS7_free(deg);
    BIO_free(in);
    sk_X509_free(to);
    EVP_CIPHER_free(fetched);
    OSSL_PROVIDER_unload(p2);
    OSSL_PROVIDER_unload(p1);
    OSSL_LIB_CTX_free(lctx);
}

static inline void test_certrep_build(const struct test_certrep *a, certa_buf *out)
{
    struct scep_nids nids;
    certa_buf inner = { 0 };
    assert_int_equal(certa_scep_nids(&nids), 0);
    if (a->status == SCEP_SUCCESS)
        test_envelope(a, &inner);
    PKCS7 *p7 = PKCS7_sign(NULL, NULL, NULL, NULL, PKCS7_BINARY | PKCS7_PARTIAL);
    PKCS7_SIGNER_INFO *si = PKCS7_sign_add_signer(p7, a->sign_cert, a->sign_key, a->md ? a->md : EVP_sha256(),
                                                  PKCS7_BINARY | PKCS7_NOSMIMECAP);
    assert_non_null(si);
    test_add_number(si, nids.message_type, SCEP_CERTREP);
    test_add_number(si, nids.pki_status, a->status);
    if (a->fail_info >= 0)
        test_add_number(si, nids.fail_info, a->fail_info);
    test_add_attr(si, nids.transaction_id, V_ASN1_PRINTABLESTRING, a->txid, (int)strlen(a->txid));
    test_add_attr(si, nids.recipient_nonce, V_ASN1_OCTET_STRING, a->recipient_nonce, SCEP_NONCE_LEN);
    test_add_attr(si, nids.sender_nonce, V_ASN1_OCTET_STRING, a->recipient_nonce, SCEP_NONCE_LEN);
    BIO *data = BIO_new_mem_buf(inner.data ? (void *)inner.data : (void *)"", (int)inner.len);
    assert_int_equal(PKCS7_final(p7, data, PKCS7_BINARY), 1);
    unsigned char *der = NULL;
    int n = i2d_PKCS7(p7, &der);
    certa_buf_append(out, der, (size_t)n);
    OPENSSL_free(der);
    BIO_free(data);
    PKCS7_free(p7);
    certa_buf_free(&inner);
}

#endif
