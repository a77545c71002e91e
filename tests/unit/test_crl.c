/* Unit tests for revocation reasons, CRL entry encoding and the streaming
 * CRL builder, with a store, key and certificate made here; every CRL is
 * checked with the openssl command line. */
#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "certa/ca.h"
#include "ca/crl.h"

struct fx {
    char *dir;
    char crt[512];
    certa_store *s;
    EVP_PKEY *key;
    X509 *cert;
};

static X509 *self_signed(EVP_PKEY *key, const EVP_MD *md)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509V3_CTX ctx;
    assert_non_null(x);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Test CA", -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_NAME_free(n);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    e = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    assert_true(X509_sign(x, key, md) > 0);
    return x;
}

static void fx_init(struct fx *f, const char *alg)
{
    char path[600];
    memset(f, 0, sizeof(*f));
    f->dir = test_tmpdir("crl");
    snprintf(path, sizeof(path), "%s/ca.db", f->dir);
    assert_int_equal(certa_store_open(path, CERTA_STORE_CREATE, &f->s), 0);
    if (strcmp(alg, "rsa") == 0)
        f->key = EVP_RSA_gen(2048);
    else if (strcmp(alg, "ed25519") == 0)
        f->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else
        f->key = EVP_EC_gen("P-256");
    assert_non_null(f->key);
    f->cert = self_signed(f->key, strcmp(alg, "ed25519") == 0 ? NULL : EVP_sha256());
    snprintf(f->crt, sizeof(f->crt), "%s/ca.crt", f->dir);
    FILE *fp = fopen(f->crt, "w");
    assert_non_null(fp);
    PEM_write_X509(fp, f->cert);
    fclose(fp);
}

static void fx_free(struct fx *f)
{
    certa_store_close(f->s);
    EVP_PKEY_free(f->key);
    X509_free(f->cert);
    test_tmpdir_remove(f->dir);
}

/* Builds a CRL, writes it as DER and has openssl verify it and print it. */
static void build_and_verify(struct fx *f, int64_t number, int64_t base, int64_t since,
                             const char *idp, const char *name, int64_t *max_seq)
{
    struct certa_crl_params p = {
        .issuer = f->cert, .key = f->key,
        .md = EVP_PKEY_get_id(f->key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256(),
        .this_update = 1700000000, .next_update = 4000000000LL, .number = number,
        .delta_base = base, .idp_url = idp,
    };
    certa_buf der = { 0 };
    int64_t seq = -1;
    assert_int_equal(certa_crl_build(f->s, &p, since, &der, &seq), 0);
    if (max_seq)
        *max_seq = seq;
    char path[700];
    snprintf(path, sizeof(path), "%s/%s.der", f->dir, name);
    assert_int_equal(certa_file_write_atomic(path, der.data, der.len, 0644), 0);
    certa_buf_free(&der);
    assert_int_equal(test_sh("openssl crl -inform DER -in '%s' -CAfile '%s' -verify -noout "
                             "-text > '%s/%s.txt' 2>&1", path, f->crt, f->dir, name), 0);
}

static int text_has(struct fx *f, const char *name, const char *pattern)
{
    return test_sh("grep -q -- '%s' '%s/%s.txt'", pattern, f->dir, name) == 0;
}

static int text_count(struct fx *f, const char *name, const char *pattern)
{
    char cmd[900], line[64] = "";
    snprintf(cmd, sizeof(cmd), "grep -c -- '%s' '%s/%s.txt'", pattern, f->dir, name);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (fgets(line, sizeof(line), p) == NULL)
        line[0] = '\0';
    pclose(p);
    return atoi(line);
}

static void test_reason_names(void **state)
{
    (void)state;
    int r = -5;
    assert_int_equal(certa_reason_parse("keyCompromise", &r), 0);
    assert_int_equal(r, CERTA_REASON_KEY_COMPROMISE);
    assert_int_equal(certa_reason_parse("key-compromise", &r), 0);
    assert_int_equal(r, CERTA_REASON_KEY_COMPROMISE);
    assert_int_equal(certa_reason_parse("CA_COMPROMISE", &r), 0);
    assert_int_equal(r, CERTA_REASON_CA_COMPROMISE);
    assert_int_equal(certa_reason_parse("certificatehold", &r), 0);
    assert_int_equal(r, CERTA_REASON_CERTIFICATE_HOLD);
    assert_int_equal(certa_reason_parse("aACompromise", &r), 0);
    assert_int_equal(r, CERTA_REASON_AA_COMPROMISE);
    assert_int_equal(certa_reason_parse("4", &r), 0);
    assert_int_equal(r, CERTA_REASON_SUPERSEDED);
    assert_int_equal(certa_reason_parse("7", &r), CERTA_EINVAL);
    assert_int_equal(certa_reason_parse("stolen", &r), CERTA_EINVAL);
    assert_int_equal(certa_reason_parse("", &r), CERTA_EINVAL);
    assert_int_equal(certa_reason_parse(NULL, &r), CERTA_EINVAL);
    const int all[] = { 0, 1, 2, 3, 4, 5, 6, 8, 9, 10 };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        assert_int_equal(certa_reason_parse(certa_reason_name(all[i]), &r), 0);
        assert_int_equal(r, all[i]);
    }
    assert_string_equal(certa_reason_name(CERTA_REASON_REMOVE_FROM_CRL), "removeFromCRL");
}

static void test_entry_encode(void **state)
{
    (void)state;
    certa_buf b = { 0 };
    assert_int_equal(certa_crl_entry_encode("ff00aa", 1700000000, 1, 1690000000, &b), 0);
    const unsigned char *p = b.data;
    X509_REVOKED *r = d2i_X509_REVOKED(NULL, &p, (long)b.len);
    assert_non_null(r);
    assert_int_equal(p - b.data, (long)b.len);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), NULL);
    char *hex = BN_bn2hex(bn);
    assert_string_equal(hex, "FF00AA");
    OPENSSL_free(hex);
    BN_free(bn);
    assert_true(X509_REVOKED_get_ext_by_NID(r, NID_crl_reason, -1) >= 0);
    assert_true(X509_REVOKED_get_ext_by_NID(r, NID_invalidity_date, -1) >= 0);
    X509_REVOKED_free(r);
    certa_buf_free(&b);
    /* unspecified: no reasonCode extension (RFC 5280 5.3.1) */
    assert_int_equal(certa_crl_entry_encode("01", 1700000000, 0, 0, &b), 0);
    p = b.data;
    r = d2i_X509_REVOKED(NULL, &p, (long)b.len);
    assert_non_null(r);
    assert_int_equal(X509_REVOKED_get_ext_count(r), 0);
    X509_REVOKED_free(r);
    certa_buf_free(&b);
    assert_int_not_equal(certa_crl_entry_encode("xyz", 1, 0, 0, &b), 0);
    certa_buf_free(&b);
}

static void test_full_and_delta(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "ec");
    test_store_add_cert(f.s, "1a2b");
    test_store_add_cert(f.s, "3c4d");
    test_store_add_cert(f.s, "5e6f");
    test_store_add_cert(f.s, "7a8b");
    assert_int_equal(certa_crl_store_revoke(f.s, "1a2b", CERTA_REASON_KEY_COMPROMISE,
                                            1700000000, 1690000000), 0);
    assert_int_equal(certa_crl_store_revoke(f.s, "3c4d", CERTA_REASON_CERTIFICATE_HOLD,
                                            1700000001, 0), 0);
    assert_int_equal(certa_crl_store_revoke(f.s, "5e6f", CERTA_REASON_UNSPECIFIED,
                                            1700000002, 0), 0);
    int64_t base_seq = 0;
    build_and_verify(&f, 1, -1, 0, "http://crl.example/ca.crl", "full", &base_seq);
    assert_int_equal(base_seq, 3);
    assert_true(text_has(&f, "full", "verify OK"));
    assert_true(text_has(&f, "full", "Version 2"));
    assert_true(text_has(&f, "full", "X509v3 CRL Number"));
    assert_true(text_has(&f, "full", "X509v3 Authority Key Identifier"));
    assert_true(text_has(&f, "full", "Issuing Distribution Point"));
    assert_true(text_has(&f, "full", "URI:http://crl.example/ca.crl"));
    assert_true(text_has(&f, "full", "Serial Number: 1A2B"));
    assert_true(text_has(&f, "full", "Serial Number: 3C4D"));
    assert_true(text_has(&f, "full", "Serial Number: 5E6F"));
    assert_false(text_has(&f, "full", "Serial Number: 7A8B"));
    assert_true(text_has(&f, "full", "Key Compromise"));
    assert_true(text_has(&f, "full", "Certificate Hold"));
    assert_true(text_has(&f, "full", "Invalidity Date"));
    assert_false(text_has(&f, "full", "Delta CRL Indicator"));

    /* Changes after the base: hold released, another revoked. */
    assert_int_equal(certa_store_cert_release_hold(f.s, "3c4d", 1700000100), 0);
    assert_int_equal(certa_crl_store_revoke(f.s, "7a8b", CERTA_REASON_SUPERSEDED,
                                            1700000101, 0), 0);
    int64_t seq = 0;
    build_and_verify(&f, 2, 1, base_seq, NULL, "delta", &seq);
    assert_int_equal(seq, 5);
    assert_true(text_has(&f, "delta", "verify OK"));
    assert_true(text_has(&f, "delta", "Delta CRL Indicator"));
    assert_true(text_has(&f, "delta", "Remove From CRL"));
    assert_true(text_has(&f, "delta", "Serial Number: 3C4D"));
    assert_true(text_has(&f, "delta", "Serial Number: 7A8B"));
    assert_false(text_has(&f, "delta", "Serial Number: 1A2B"));
    assert_int_equal(text_count(&f, "delta", "Serial Number:"), 2);
    fx_free(&f);
}

static void test_empty_rsa_ed25519(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "rsa");
    build_and_verify(&f, 1, -1, 0, NULL, "empty", NULL);
    assert_true(text_has(&f, "empty", "No Revoked Certificates"));
    test_store_add_cert(f.s, "0badc0de");
    assert_int_equal(certa_crl_store_revoke(f.s, "0badc0de", 9, 1700000000, 0), 0);
    /* Several builds: RSA signatures end in zero octets now and then, which
     * must survive the BIT STRING encoding. */
    for (int i = 0; i < 8; i++) {
        build_and_verify(&f, 2 + i, -1, 0, NULL, "rsa", NULL);
        assert_true(text_has(&f, "rsa", "Privilege Withdrawn"));
    }
    fx_free(&f);
    fx_init(&f, "ed25519");
    test_store_add_cert(f.s, "01");
    assert_int_equal(certa_crl_store_revoke(f.s, "01", 10, 1700000000, 0), 0);
    build_and_verify(&f, 1, -1, 0, NULL, "ed", NULL);
    assert_true(text_has(&f, "ed", "verify OK"));
    assert_true(text_has(&f, "ed", "ED25519"));
    fx_free(&f);
}

static void test_ten_thousand(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, "ec");
    char serial[40];
    assert_int_equal(certa_store_begin(f.s), 0);
    for (int i = 0; i < 10000; i++) {
        snprintf(serial, sizeof(serial), "7f%030x", i + 1);
        test_store_add_cert(f.s, serial);
        assert_int_equal(certa_crl_store_revoke(f.s, serial, i % 6, 1700000000 + i, 0), 0);
    }
    assert_int_equal(certa_store_commit(f.s), 0);
    build_and_verify(&f, 1, -1, 0, "http://crl.example/big.crl", "big", NULL);
    assert_true(text_has(&f, "big", "verify OK"));
    assert_int_equal(text_count(&f, "big", "Serial Number:"), 10000);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_entry_encode),
        cmocka_unit_test(test_full_and_delta),
        cmocka_unit_test(test_empty_rsa_ed25519),
        cmocka_unit_test(test_ten_thousand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
