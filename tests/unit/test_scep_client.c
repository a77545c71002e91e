/* Unit tests for the device's SCEP codec (lib/entity/scep_*.c): GetCACaps
 * and the algorithms chosen from it, the pkiMessage read back the way a
 * server reads it, and CertRep checks (signature, transactionID, nonce,
 * status and failInfo, truncation, single-DES envelopes only with legacy).
 * The CertReps are built here with OpenSSL acting as the CA. */
#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>
#include "certa/key.h"
#include "entity/scep_msg.h"
#include "scep_test_ca.h"

struct fixture {
    EVP_PKEY *ca_key, *dev_key, *other_key;
    X509 *ca, *dev_cert, *other_ca;
    STACK_OF(X509) *signers;
    struct scep_nids nids;
    char txid[SCEP_TXID_MAX];
    unsigned char nonce[SCEP_NONCE_LEN];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_int_equal(certa_key_generate("rsa:2048", &f->ca_key), 0);
    assert_int_equal(certa_key_generate("rsa:2048", &f->dev_key), 0);
    assert_int_equal(certa_key_generate("rsa:2048", &f->other_key), 0);
    f->ca = test_self_signed(f->ca_key, "SCEP Test CA", 1);
    f->other_ca = test_self_signed(f->other_key, "SCEP Test CA", 1);
    f->dev_cert = test_self_signed(f->dev_key, "device", 0);
    f->signers = sk_X509_new_null();
    sk_X509_push(f->signers, f->ca);
    assert_int_equal(certa_scep_nids(&f->nids), 0);
    assert_int_equal(certa_scep_new_transaction(f->txid, sizeof(f->txid)), 0);
    assert_int_equal(certa_scep_new_nonce(f->nonce), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sk_X509_free(f->signers);
    X509_free(f->ca);
    X509_free(f->other_ca);
    X509_free(f->dev_cert);
    EVP_PKEY_free(f->ca_key);
    EVP_PKEY_free(f->dev_key);
    EVP_PKEY_free(f->other_key);
    free(f);
    return 0;
}

static void test_caps(void **state)
{
    (void)state;
    const char *body = "Renewal\r\nsha-256\nAES\nPOSTPKIOperation\n";
    unsigned caps = certa_scep_caps_parse(body, strlen(body));
    assert_int_equal(caps, SCEP_CAP_RENEWAL | SCEP_CAP_SHA256 | SCEP_CAP_AES | SCEP_CAP_POST);
    struct scep_algs a;
    assert_int_equal(certa_scep_algs_choose(caps, 0, &a), 0);
    assert_ptr_equal(a.cipher, EVP_aes_128_cbc());
    assert_ptr_equal(a.md, EVP_sha256());
    assert_true(a.post && a.renewal);
    caps = certa_scep_caps_parse("SCEPStandard", 12);
    assert_true(caps & SCEP_CAP_AES && caps & SCEP_CAP_POST && caps & SCEP_CAP_SHA256);
    /* A prefix or a longer word is not the keyword. */
    assert_int_equal(certa_scep_caps_parse("AESX SHA-2 POST", 15), 0);
    /* DES3 and SHA-1 only with legacy, and the refusal says why. */
    caps = certa_scep_caps_parse("DES3\nSHA-1\n", 11);
    assert_int_equal(certa_scep_algs_choose(caps, 0, &a), CERTA_EPOLICY);
    assert_non_null(strstr(certa_error_last(), "3DES needs --legacy"));
    assert_int_equal(certa_scep_algs_choose(caps | SCEP_CAP_AES, 0, &a), CERTA_EPOLICY);
    assert_non_null(strstr(certa_error_last(), "SHA-1 needs --legacy"));
    assert_int_equal(certa_scep_algs_choose(caps, 1, &a), 0);
    assert_ptr_equal(a.cipher, EVP_des_ede3_cbc());
    assert_ptr_equal(a.md, EVP_sha1());
    assert_false(a.post);
    assert_string_equal(certa_scep_fail_name(4), "badCertId");
    assert_string_equal(certa_scep_fail_name(9), "unknown failInfo");
}

/* The request as the CA reads it: signed by our cert, attributes, and the
 * envelope opens with the CA key to the exact PKCS#10 bytes. */
static void test_request_roundtrip(void **state)
{
    struct fixture *f = *state;
    struct scep_algs algs = { .cipher = EVP_aes_128_cbc(), .md = EVP_sha256(), .post = 1 };
    const unsigned char inner[] = "pretend this is a PKCS#10";
    struct scep_request req = { .type = SCEP_PKCSREQ, .inner = inner, .inner_len = sizeof(inner),
                                .recipient = f->ca, .signer = f->dev_cert, .key = f->dev_key, .algs = &algs,
                                .transaction_id = f->txid };
    memcpy(req.sender_nonce, f->nonce, SCEP_NONCE_LEN);
    certa_buf der = { 0 };
    assert_int_equal(certa_scep_request_encode(&req, &der), 0);

    const unsigned char *p = der.data;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)der.len);
    assert_non_null(p7);
    STACK_OF(X509) *s = sk_X509_new_null();
    sk_X509_push(s, f->dev_cert);
    X509_STORE *st = X509_STORE_new();
    BIO *content = BIO_new(BIO_s_mem());
    assert_int_equal(PKCS7_verify(p7, s, st, NULL, content, PKCS7_NOVERIFY | PKCS7_NOINTERN | PKCS7_BINARY), 1);
    PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7), 0);
    ASN1_TYPE *t = PKCS7_get_signed_attribute(si, f->nids.message_type);
    assert_non_null(t);
    assert_int_equal(t->type, V_ASN1_PRINTABLESTRING);
    assert_memory_equal(ASN1_STRING_get0_data(t->value.printablestring), "19", 2);
    t = PKCS7_get_signed_attribute(si, f->nids.transaction_id);
    assert_memory_equal(ASN1_STRING_get0_data(t->value.printablestring), f->txid, strlen(f->txid));
    t = PKCS7_get_signed_attribute(si, f->nids.sender_nonce);
    assert_int_equal(t->type, V_ASN1_OCTET_STRING);
    assert_memory_equal(ASN1_STRING_get0_data(t->value.octet_string), f->nonce, SCEP_NONCE_LEN);
    char *env = NULL;
    long envlen = BIO_get_mem_data(content, &env);
    certa_buf plain = { 0 };
    /* The CA opens it with its key; our key cannot. */
    assert_int_equal(certa_scep_envelope_open((unsigned char *)env, (size_t)envlen, f->ca_key, f->ca, 0, &plain),
                     0);
    assert_int_equal(plain.len, sizeof(inner));
    assert_memory_equal(plain.data, inner, sizeof(inner));
    certa_buf_free(&plain);
    assert_int_equal(certa_scep_envelope_open((unsigned char *)env, (size_t)envlen, f->other_key, f->other_ca, 0,
                                              &plain), CERTA_ECRYPTO);
    BIO_free(content);
    X509_STORE_free(st);
    sk_X509_free(s);
    PKCS7_free(p7);
    certa_buf_free(&der);

    certa_buf ias = { 0 };
    assert_int_equal(certa_scep_issuer_and_subject(X509_get_subject_name(f->ca), X509_get_subject_name(f->dev_cert),
                                                   &ias), 0);
    assert_true(ias.len > 20 && ias.data[0] == 0x30);
    certa_buf_free(&ias);
}

/* How the test CA answers. */
struct answer {
    int status, fail_info;       /* fail_info < 0: none */
    const char *txid;            /* NULL: the fixture's */
    int wrong_nonce;
    EVP_PKEY *sign_key;          /* NULL: the CA key */
    X509 *sign_cert;
    const EVP_CIPHER *cipher;    /* SUCCESS envelope; NULL: AES */
    int single_des;
    X509 *issued;                /* SUCCESS: certificate to return */
};

static void certrep(struct fixture *f, const struct answer *a, certa_buf *out)
{
    unsigned char nonce[SCEP_NONCE_LEN];
    memcpy(nonce, f->nonce, sizeof(nonce));
    if (a->wrong_nonce)
        nonce[3] ^= 1;
    struct test_certrep t = { .status = a->status, .fail_info = a->fail_info, .txid = a->txid ? a->txid : f->txid,
                              .recipient_nonce = nonce, .sign_key = a->sign_key ? a->sign_key : f->ca_key,
                              .sign_cert = a->sign_cert ? a->sign_cert : f->ca, .encrypt_to = f->dev_cert,
                              .cipher = a->cipher, .single_des = a->single_des, .issued = a->issued };
    test_certrep_build(&t, out);
}

static int decode(struct fixture *f, const struct answer *a, int legacy, struct scep_reply *r)
{
    certa_buf der = { 0 };
    certrep(f, a, &der);
    struct scep_expect exp = { .signers = f->signers, .transaction_id = f->txid, .sender_nonce = f->nonce,
                               .key = f->dev_key, .cert = f->dev_cert, .legacy = legacy };
    int rc = certa_scep_reply_decode(der.data, der.len, &exp, r);
    certa_buf_free(&der);
    return rc;
}

static void test_reply_success(void **state)
{
    struct fixture *f = *state;
    struct scep_reply r;
    struct answer a = { .status = SCEP_SUCCESS, .fail_info = -1, .issued = f->other_ca };
    assert_int_equal(decode(f, &a, 0, &r), 0);
    assert_int_equal(r.status, SCEP_SUCCESS);
    assert_int_equal(sk_X509_num(r.certs), 1);
    assert_int_equal(X509_cmp(sk_X509_value(r.certs, 0), f->other_ca), 0);
    certa_scep_reply_clear(&r);
    a.cipher = EVP_aes_256_cbc();
    assert_int_equal(decode(f, &a, 0, &r), 0);
    certa_scep_reply_clear(&r);
    /* 3DES only with legacy. */
    a.cipher = EVP_des_ede3_cbc();
    assert_int_equal(decode(f, &a, 0, &r), CERTA_EPOLICY);
    assert_non_null(strstr(certa_error_last(), "3DES"));
    assert_int_equal(decode(f, &a, 1, &r), 0);
    certa_scep_reply_clear(&r);
}

static void test_reply_single_des(void **state)
{
    struct fixture *f = *state;
    struct scep_reply r;
    struct answer a = { .status = SCEP_SUCCESS, .fail_info = -1, .issued = f->other_ca, .single_des = 1 };
    assert_int_equal(decode(f, &a, 0, &r), CERTA_EPOLICY);
    assert_non_null(strstr(certa_error_last(), "the server used single DES"));
    assert_non_null(strstr(certa_error_last(), "--legacy"));
    /* With legacy: the legacy provider in its own context decrypts it, and
     * the default context still has no DES afterwards. */
    int rc = decode(f, &a, 1, &r);
    if (rc != 0)
        fail_msg("%s", certa_error_last());
    assert_int_equal(sk_X509_num(r.certs), 1);
    certa_scep_reply_clear(&r);
    EVP_CIPHER *des = EVP_CIPHER_fetch(NULL, "DES-CBC", NULL);
    assert_null(des);
    ERR_clear_error();
}

static void test_reply_checks(void **state)
{
    struct fixture *f = *state;
    struct scep_reply r;
    struct answer a = { .status = SCEP_PENDING, .fail_info = -1 };
    assert_int_equal(decode(f, &a, 0, &r), 0);
    assert_int_equal(r.status, SCEP_PENDING);
    for (int fi = 0; fi < 5; fi++) {
        struct answer fa = { .status = SCEP_FAILURE, .fail_info = fi };
        assert_int_equal(decode(f, &fa, 0, &r), 0);
        assert_int_equal(r.status, SCEP_FAILURE);
        assert_int_equal(r.fail_info, fi);
    }
    struct answer bad = { .status = SCEP_PENDING, .fail_info = -1, .txid = "not-ours" };
    assert_int_equal(decode(f, &bad, 0, &r), CERTA_EPROTO);
    assert_non_null(strstr(certa_error_last(), "wrong transactionID"));
    bad = (struct answer){ .status = SCEP_PENDING, .fail_info = -1, .wrong_nonce = 1 };
    assert_int_equal(decode(f, &bad, 0, &r), CERTA_EPROTO);
    assert_non_null(strstr(certa_error_last(), "recipientNonce"));
    /* Signed by a look-alike CA (same name, another key). */
    bad = (struct answer){ .status = SCEP_PENDING, .fail_info = -1, .sign_key = f->other_key,
                           .sign_cert = f->other_ca };
    assert_int_equal(decode(f, &bad, 0, &r), CERTA_ECRYPTO);
    assert_non_null(strstr(certa_error_last(), "signature does not verify"));

    /* Truncated, empty, not DER at all. */
    certa_buf der = { 0 };
    certrep(f, &a, &der);
    struct scep_expect exp = { .signers = f->signers, .transaction_id = f->txid, .sender_nonce = f->nonce,
                               .key = f->dev_key, .cert = f->dev_cert };
    assert_int_equal(certa_scep_reply_decode(der.data, der.len - 7, &exp, &r), CERTA_EPROTO);
    assert_non_null(strstr(certa_error_last(), "truncated"));
    assert_int_equal(certa_scep_reply_decode(der.data, 0, &exp, &r), CERTA_EPROTO);
    assert_non_null(strstr(certa_error_last(), "empty"));
    const char html[] = "<html><body>It works</body></html>";
    assert_int_equal(certa_scep_reply_decode((const unsigned char *)html, sizeof(html) - 1, &exp, &r),
                     CERTA_EPROTO);
    /* A flipped bit in the signature value (the DER's last field). */
    der.data[der.len - 5] ^= 0x01;
    assert_int_equal(certa_scep_reply_decode(der.data, der.len, &exp, &r), CERTA_ECRYPTO);
    assert_non_null(strstr(certa_error_last(), "signature does not verify"));
    certa_buf_free(&der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps),
        cmocka_unit_test_setup_teardown(test_request_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_single_des, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_checks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
