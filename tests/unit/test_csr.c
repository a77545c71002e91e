/* Unit tests for lib/crypto CSRs and names: DN and SAN parsing (good and
 * bad), usage words, CSR creation checked by `openssl req -verify`, and
 * parse failures (malformed, truncated, badly signed). */
#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include "certa/ca.h"
#include "certa/csr.h"
#include "certa/key.h"

static void test_name_forms(void **state)
{
    (void)state;
    static const struct { const char *in, *want; } cases[] = {
        { "CN=a,O=b", "CN=a, O=b" },
        { "/CN=a/O=b", "CN=a, O=b" },
        { "CN=router1.example.com, OU=Net\\, Ops, C=DE", "CN=router1.example.com, OU=Net\\, Ops, C=DE" },
        { "/CN=a\\/b/O=x", "CN=a/b, O=x" },
        { "cn=x,serialNumber=123,unstructuredName=r1.example", "CN=x, serialNumber=123, unstructuredName=r1.example" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        X509_NAME *n = NULL;
        assert_int_equal(certa_name_parse(cases[i].in, &n), 0);
        char *t = certa_name_text(n);
        assert_non_null(t);
        assert_string_equal(t, cases[i].want);
        /* The printed form parses back to the same name. */
        X509_NAME *back = NULL;
        assert_int_equal(certa_name_parse(t, &back), 0);
        assert_int_equal(X509_NAME_cmp(n, back), 0);
        X509_NAME_free(back);
        free(t);
        X509_NAME_free(n);
    }
}

/* A CSR may carry an empty subject; its text (for a challenge's DN
 * pattern) is "" (found by fuzz_scep_server: the empty printout was copied
 * from a NULL pointer). */
static void test_name_text_empty(void **state)
{
    (void)state;
    X509_NAME *n = X509_NAME_new();
    assert_non_null(n);
    char *t = certa_name_text(n);
    assert_non_null(t);
    assert_string_equal(t, "");
    free(t);
    X509_NAME_free(n);
}

static void test_name_refused(void **state)
{
    (void)state;
    const char *bad[] = { "", "CM=a", "CN", "CN=", "CN=a,XX=b", "/CN=a/foo=b", "C=DEU", "CN=a\\" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        X509_NAME *n = NULL;
        assert_int_equal(certa_name_parse(bad[i], &n), CERTA_EINVAL);
        assert_null(n);
    }
    X509_NAME *n = NULL;
    assert_int_equal(certa_name_parse("CM=a", &n), CERTA_EINVAL);
    assert_non_null(strstr(certa_error_last(), "unknown subject attribute 'CM'"));
}

static void test_san(void **state)
{
    (void)state;
    const char *good[] = { "dns:r1.example.com", "ip:192.0.2.1", "ip:2001:db8::1", "email:ops@example.com",
                           "uri:https://example.com/x", "DNS:*.example.com" };
    const int types[] = { GEN_DNS, GEN_IPADD, GEN_IPADD, GEN_EMAIL, GEN_URI, GEN_DNS };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        GENERAL_NAME *gn = NULL;
        assert_int_equal(certa_san_parse(good[i], &gn), 0);
        assert_int_equal(gn->type, types[i]);
        GENERAL_NAME_free(gn);
    }
    const char *bad[] = { "r1.example.com", "dns:", "dns:a b", "ip:300.1.1.1", "ip:zz::1::2", "email:nobody",
                          "uri:noscheme", "x400:foo" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        GENERAL_NAME *gn = NULL;
        assert_int_equal(certa_san_parse(bad[i], &gn), CERTA_EINVAL);
        assert_null(gn);
    }
}

static void test_usage(void **state)
{
    (void)state;
    unsigned f = 0;
    assert_int_equal(certa_usage_parse("ike,ssl-client,ssl-server", &f), 0);
    assert_int_equal(f, CERTA_USAGE_IKE | CERTA_USAGE_SSL_CLIENT | CERTA_USAGE_SSL_SERVER);
    assert_int_equal(certa_usage_parse("ssl-server", &f), 0);
    assert_int_equal(f, CERTA_USAGE_SSL_SERVER);
    assert_int_equal(certa_usage_parse("ike,codesign", &f), CERTA_EINVAL);
    assert_non_null(strstr(certa_error_last(), "codesign"));
    assert_int_equal(certa_usage_parse("", &f), CERTA_EINVAL);
}

static X509_REQ *make_csr(EVP_PKEY *key, const char *challenge)
{
    const char *sans[] = { "dns:r1.example.com", "ip:192.0.2.7", "ip:2001:db8::7", "email:a@example.com",
                           "uri:urn:dev:1" };
    struct certa_csr_params p = {
        .subject = "CN=r1.example.com,O=Example",
        .sans = sans,
        .san_count = 5,
        .usages = CERTA_USAGE_IKE | CERTA_USAGE_SSL_CLIENT,
        .challenge = challenge,
    };
    X509_REQ *req = NULL;
    assert_int_equal(certa_csr_create(key, &p, &req), 0);
    return req;
}

static void test_create_and_parse(void **state)
{
    (void)state;
    const char *specs[] = { "ec:p256", "ed25519", "rsa:2048" };
    char *dir = test_tmpdir("csr");
    for (size_t i = 0; i < 3; i++) {
        EVP_PKEY *key = NULL;
        assert_int_equal(certa_key_generate(specs[i], &key), 0);
        X509_REQ *req = make_csr(key, "pw-123");
        char pem[512], der[512];
        snprintf(pem, sizeof(pem), "%s/r%zu.pem", dir, i);
        snprintf(der, sizeof(der), "%s/r%zu.der", dir, i);
        assert_int_equal(certa_csr_write(req, pem, 0), 0);
        assert_int_equal(certa_csr_write(req, der, 1), 0);
        assert_int_equal(test_sh("openssl req -in '%s' -verify -noout 2>/dev/null", pem), 0);
        assert_int_equal(test_sh("openssl req -in '%s' -noout -text | grep -q 'ipsec Internet Key Exchange'", pem), 0);
        assert_int_equal(test_sh("openssl req -inform DER -in '%s' -noout -text | grep -q 'IP Address:2001:DB8:0:0:0:0:0:7'", der), 0);

        for (int f = 0; f < 2; f++) {
            certa_buf b = { 0 };
            X509_REQ *back = NULL;
            assert_int_equal(certa_file_read(f ? der : pem, 65536, &b), 0);
            assert_int_equal(certa_csr_parse(b.data, b.len, &back), 0);
            char *ch = certa_csr_challenge(back);
            assert_non_null(ch);
            assert_string_equal(ch, "pw-123");
            OPENSSL_free(ch);
            X509_REQ_free(back);
            certa_buf_free(&b);
        }
        X509_REQ_free(req);
        EVP_PKEY_free(key);
    }
    test_tmpdir_remove(dir);
}

static void test_create_refused(void **state)
{
    (void)state;
    EVP_PKEY *key = NULL;
    X509_REQ *req = NULL;
    assert_int_equal(certa_key_generate("ec:p256", &key), 0);
    const char *badsan[] = { "dns:ok.example", "bogus:1" };
    struct certa_csr_params p = { .subject = "CN=x", .sans = badsan, .san_count = 2 };
    assert_int_equal(certa_csr_create(key, &p, &req), CERTA_EINVAL);
    p.san_count = 0;
    p.digest = "md5";
    assert_int_equal(certa_csr_create(key, &p, &req), CERTA_EUNSUPPORTED);
    p.legacy = 1; /* md5 with EC has no signature algorithm at all */
    assert_int_equal(certa_csr_create(key, &p, &req) < 0, 1);
    p.legacy = 0;
    p.digest = NULL;
    p.subject = "XX=y";
    assert_int_equal(certa_csr_create(key, &p, &req), CERTA_EINVAL);
    assert_null(req);
    EVP_PKEY_free(key);
    EVP_PKEY *weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    p.subject = "CN=x";
    assert_int_equal(certa_csr_create(weak, &p, &req), CERTA_EPOLICY);
    EVP_PKEY_free(weak);
}

static void test_legacy_digest(void **state)
{
    (void)state;
    EVP_PKEY *key = NULL;
    X509_REQ *req = NULL;
    assert_int_equal(certa_key_generate("rsa:2048", &key), 0);
    struct certa_csr_params p = { .subject = "CN=old-ca-client", .digest = "sha1" };
    assert_int_equal(certa_csr_create(key, &p, &req), CERTA_EUNSUPPORTED);
    assert_non_null(strstr(certa_error_last(), "legacy"));
    p.legacy = 1;
    assert_int_equal(certa_csr_create(key, &p, &req), 0);
    char *dir = test_tmpdir("csrleg");
    char path[512];
    snprintf(path, sizeof(path), "%s/r.pem", dir);
    assert_int_equal(certa_csr_write(req, path, 0), 0);
    assert_int_equal(test_sh("openssl req -in '%s' -noout -text | grep -q sha1WithRSAEncryption", path), 0);
    test_tmpdir_remove(dir);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
}

static void test_parse_bad(void **state)
{
    (void)state;
    EVP_PKEY *key = NULL;
    assert_int_equal(certa_key_generate("ec:p256", &key), 0);
    X509_REQ *req = make_csr(key, NULL);
    unsigned char *der = NULL;
    int len = i2d_X509_REQ(req, &der);
    assert_true(len > 100);
    X509_REQ *out = NULL;

    /* Truncated DER. */
    assert_int_equal(certa_csr_parse(der, (size_t)len - 10, &out), CERTA_EINVAL);
    assert_non_null(strstr(certa_error_last(), "malformed or truncated"));
    /* Garbage and empty. */
    assert_int_equal(certa_csr_parse((const unsigned char *)"hello world", 11, &out), CERTA_EINVAL);
    assert_int_equal(certa_csr_parse(der, 0, &out), CERTA_EINVAL);
    /* Trailing bytes after the DER. */
    unsigned char *longer = malloc((size_t)len + 4);
    memcpy(longer, der, (size_t)len);
    memcpy(longer + len, "JUNK", 4);
    assert_int_equal(certa_csr_parse(longer, (size_t)len + 4, &out), CERTA_EINVAL);
    free(longer);
    /* Truncated PEM. */
    BIO *mem = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_REQ(mem, req);
    char *pem = NULL;
    long plen = BIO_get_mem_data(mem, &pem);
    assert_int_equal(certa_csr_parse((unsigned char *)pem, (size_t)plen / 2, &out), CERTA_EINVAL);
    BIO_free(mem);
    /* Bad signature: flip a bit in the last byte (inside the signature). */
    der[len - 1] ^= 0x01;
    assert_int_equal(certa_csr_parse(der, (size_t)len, &out), CERTA_ECRYPTO);
    assert_non_null(strstr(certa_error_last(), "signature"));
    der[len - 1] ^= 0x01;
    /* A changed subject byte also breaks the signature. */
    unsigned char *hit = NULL;
    for (int i = 0; i + 2 < len; i++)
        if (memcmp(der + i, "r1.", 3) == 0) {
            hit = der + i;
            break;
        }
    assert_non_null(hit);
    hit[0] = 'x';
    assert_int_equal(certa_csr_parse(der, (size_t)len, &out), CERTA_ECRYPTO);
    hit[0] = 'r';
    assert_int_equal(certa_csr_parse(der, (size_t)len, &out), 0);
    X509_REQ_free(out);
    OPENSSL_free(der);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
}

/* The known key's three arguments, as test_view holds them. */
#define KNOWN known, (size_t)klen, key
/* certa_csr_view_parse: the same answers as certa_csr_parse + X509_REQ, the
 * known key used when the request's key is it, another key decoded. */
static void test_view(void **state)
{
    (void)state;
    const char *specs[] = { "rsa:2048", "ec:p256", "ed25519" };
    EVP_PKEY *other = NULL;
    assert_int_equal(certa_key_generate("ec:p384", &other), 0);
    unsigned char *other_spki = NULL;
    int other_len = i2d_PUBKEY(other, &other_spki);
    assert_true(other_len > 0);
    for (size_t i = 0; i < 3; i++) {
        EVP_PKEY *key = NULL;
        assert_int_equal(certa_key_generate(specs[i], &key), 0);
        X509_REQ *req = make_csr(key, "pw-456");
        unsigned char *der = NULL;
        int len = i2d_X509_REQ(req, &der);
        assert_true(len > 0);
        /* The key as a protocol would hold it: its SubjectPublicKeyInfo's
         * bytes, and the key decoded from them elsewhere. */
        unsigned char *known = NULL;
        int klen = i2d_PUBKEY(key, &known);
        assert_true(klen > 0);
        struct certa_csr_view v;
        assert_int_equal(certa_csr_view_parse(der, (size_t)len, known, (size_t)klen, key, &v), 0);
        assert_int_equal(v.known_key, 1);
        assert_ptr_equal(v.pubkey, key);
        /* The SubjectPublicKeyInfo for the certificate, assembled from the
         * request's parts without decoding them, encodes to the same bytes. */
        assert_non_null(v.own_spki);
        assert_ptr_equal(v.spki, v.own_spki);
        unsigned char *again = NULL;
        int alen = i2d_X509_PUBKEY(v.own_spki, &again);
        assert_int_equal(alen, klen);
        assert_memory_equal(again, known, (size_t)klen);
        OPENSSL_free(again);
        assert_int_equal(X509_NAME_cmp(v.subject, X509_REQ_get_subject_name(req)), 0);
        char *ch = certa_csr_view_challenge(&v);
        assert_non_null(ch);
        assert_string_equal(ch, "pw-456");
        OPENSSL_free(ch);
        STACK_OF(X509_EXTENSION) *a = certa_csr_view_extensions(&v), *b = X509_REQ_get_extensions(req);
        assert_non_null(a);
        assert_int_equal(sk_X509_EXTENSION_num(a), sk_X509_EXTENSION_num(b));
        assert_int_equal(sk_X509_EXTENSION_num(a), 2);   /* SAN and EKU */
        for (int j = 0; j < sk_X509_EXTENSION_num(a); j++) {
            ASN1_OCTET_STRING *x = X509_EXTENSION_get_data(sk_X509_EXTENSION_value(a, j));
            ASN1_OCTET_STRING *y = X509_EXTENSION_get_data(sk_X509_EXTENSION_value(b, j));
            assert_int_equal(ASN1_STRING_cmp(x, y), 0);
        }
        sk_X509_EXTENSION_pop_free(a, X509_EXTENSION_free);
        sk_X509_EXTENSION_pop_free(b, X509_EXTENSION_free);
        struct certa_csr_request cr;
        assert_int_equal(certa_request_from_csr_view(&v, &cr), 0);
        assert_int_equal(sk_GENERAL_NAME_num(cr.req.sans), 5);
        assert_ptr_equal(cr.req.pubkey, v.pubkey);
        certa_csr_request_clear(&cr);
        certa_csr_view_clear(&v);

        /* Another key known (or none): the request's own is decoded. */
        for (int k = 0; k < 2; k++) {
            assert_int_equal(certa_csr_view_parse(der, (size_t)len, k ? NULL : other_spki, k ? 0 : (size_t)other_len,
                                                  k ? NULL : other, &v), 0);
            assert_int_equal(v.known_key, 0);
            assert_non_null(v.own_spki);
            assert_int_equal(EVP_PKEY_eq(v.pubkey, key), 1);
            assert_ptr_equal(v.pubkey, X509_PUBKEY_get0(v.own_spki));
            assert_true(EVP_PKEY_eq(v.pubkey, other) != 1);
            certa_csr_view_clear(&v);
        }

        /* PEM as well. */
        BIO *mem = BIO_new(BIO_s_mem());
        PEM_write_bio_X509_REQ(mem, req);
        char *pem = NULL;
        long plen = BIO_get_mem_data(mem, &pem);
        assert_int_equal(certa_csr_view_parse((unsigned char *)pem, (size_t)plen, KNOWN, &v), 0);
        assert_int_equal(v.known_key, 1);
        certa_csr_view_clear(&v);
        assert_int_equal(certa_csr_view_parse((unsigned char *)pem, (size_t)plen / 2, KNOWN, &v), CERTA_EINVAL);
        BIO_free(mem);

        /* Malformed: truncated, trailing bytes, garbage, empty. */
        assert_int_equal(certa_csr_view_parse(der, (size_t)len - 10, KNOWN, &v), CERTA_EINVAL);
        assert_null(v.asn1);
        unsigned char *longer = malloc((size_t)len + 4);
        memcpy(longer, der, (size_t)len);
        memcpy(longer + len, "JUNK", 4);
        assert_int_equal(certa_csr_view_parse(longer, (size_t)len + 4, KNOWN, &v), CERTA_EINVAL);
        free(longer);
        assert_int_equal(certa_csr_view_parse((const unsigned char *)"hello world", 11, KNOWN, &v), CERTA_EINVAL);
        assert_int_equal(certa_csr_view_parse(der, 0, KNOWN, &v), CERTA_EINVAL);

        /* Badly signed, with the known key and with a decoded one: a known
         * key never stands in for the request's signature. */
        unsigned char *hit = NULL;
        for (int j = 0; j + 2 < len; j++)
            if (memcmp(der + j, "r1.", 3) == 0) {
                hit = der + j;
                break;
            }
        assert_non_null(hit);
        hit[0] = 'x';
        assert_int_equal(certa_csr_view_parse(der, (size_t)len, KNOWN, &v), CERTA_ECRYPTO);
        assert_int_equal(certa_csr_view_parse(der, (size_t)len, other_spki, (size_t)other_len, other, &v),
                         CERTA_ECRYPTO);
        hit[0] = 'r';
        der[len - 1] ^= 0x01;
        assert_int_equal(certa_csr_view_parse(der, (size_t)len, KNOWN, &v), CERTA_ECRYPTO);
        assert_non_null(strstr(certa_error_last(), "signature"));
        der[len - 1] ^= 0x01;
        assert_int_equal(certa_csr_view_parse(der, (size_t)len, KNOWN, &v), 0);
        certa_csr_view_clear(&v);

        OPENSSL_free(known);
        OPENSSL_free(der);
        X509_REQ_free(req);
        EVP_PKEY_free(key);
    }
    OPENSSL_free(other_spki);
    EVP_PKEY_free(other);
}
#undef KNOWN

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_forms),
        cmocka_unit_test(test_name_text_empty),
        cmocka_unit_test(test_name_refused),
        cmocka_unit_test(test_san),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_create_and_parse),
        cmocka_unit_test(test_create_refused),
        cmocka_unit_test(test_legacy_digest),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
