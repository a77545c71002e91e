/* Unit tests for lib/crypto keys: generation per spec, refusal of weak or
 * unknown specs, PKCS#8 save/load (PEM, DER, encrypted), fingerprints and
 * zeroization. Files are cross-checked with the openssl command line. */
#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/x509.h>
#include "certa/key.h"

static void test_generate_specs(void **state)
{
    (void)state;
    static const struct { const char *spec, *want; } cases[] = {
        { "ec:p256", "ec:p256" }, { "ec", "ec:p256" },       { "ec:p384", "ec:p384" },
        { "rsa:2048", "rsa:2048" }, { "rsa", "rsa:2048" },   { "ed25519", "ed25519" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        EVP_PKEY *k = NULL;
        char spec[32];
        assert_int_equal(certa_key_generate(cases[i].spec, &k), 0);
        assert_int_equal(certa_key_spec(k, spec, sizeof(spec)), 0);
        assert_string_equal(spec, cases[i].want);
        assert_int_equal(certa_key_check_strength(k), 0);
        EVP_PKEY_free(k);
    }
}

static void test_generate_refused(void **state)
{
    (void)state;
    const char *bad[] = { "rsa:1024", "rsa:8192", "rsa:abc", "ec:p999", "ec:secp256k1", "dsa", "ed448", "" };
    for (size_t i = 0; i + 1 < sizeof(bad) / sizeof(bad[0]); i++) {
        EVP_PKEY *k = NULL;
        assert_int_equal(certa_key_generate(bad[i], &k), CERTA_EUNSUPPORTED);
        assert_null(k);
        assert_non_null(strstr(certa_error_last(), bad[i]));
    }
}

static void test_weak_key_strength(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    assert_non_null(k);
    assert_int_equal(certa_key_check_strength(k), CERTA_EPOLICY);
    assert_non_null(strstr(certa_error_last(), "rsa:1024"));
    EVP_PKEY_free(k);
}

static void roundtrip(const char *dir, const char *spec, certa_format fmt, const char *pass)
{
    char path[512];
    EVP_PKEY *k = NULL, *back = NULL;
    char fp1[200], fp2[200];
    snprintf(path, sizeof(path), "%s/k-%s-%d-%d", dir, spec, (int)fmt, pass != NULL);
    assert_int_equal(certa_key_generate(spec, &k), 0);
    assert_int_equal(certa_key_save(k, path, fmt, pass), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(certa_key_load(path, pass, &back), 0);
    assert_int_equal(certa_key_fingerprint(k, "sha256", fp1, sizeof(fp1)), 0);
    assert_int_equal(certa_key_fingerprint(back, "sha256", fp2, sizeof(fp2)), 0);
    assert_string_equal(fp1, fp2);
    assert_int_equal(strlen(fp1), 95);
    /* The independent reader agrees. */
    if (pass != NULL)
        assert_int_equal(test_sh("openssl pkey -noout -inform %s -in '%s' -passin 'pass:%s' 2>/dev/null",
                                 fmt == CERTA_FORMAT_DER ? "DER" : "PEM", path, pass), 0);
    else
        assert_int_equal(test_sh("openssl pkey -noout -inform %s -in '%s' -passin pass: 2>/dev/null",
                                 fmt == CERTA_FORMAT_DER ? "DER" : "PEM", path), 0);
    if (pass != NULL) {
        EVP_PKEY *none = NULL;
        assert_int_equal(certa_key_load(path, "wrong-pass", &none), CERTA_EPASS);
        assert_non_null(strstr(certa_error_last(), "wrong passphrase"));
        assert_null(none);
        assert_int_equal(certa_key_load(path, NULL, &none), CERTA_EPASS);
        assert_null(none);
    }
    EVP_PKEY_free(k);
    EVP_PKEY_free(back);
}

static void test_save_load(void **state)
{
    (void)state;
    char *dir = test_tmpdir("key");
    roundtrip(dir, "ec:p256", CERTA_FORMAT_PEM, NULL);
    roundtrip(dir, "ec:p384", CERTA_FORMAT_DER, NULL);
    roundtrip(dir, "ed25519", CERTA_FORMAT_PEM, "s3cret pass");
    roundtrip(dir, "ec:p256", CERTA_FORMAT_DER, "s3cret");
    roundtrip(dir, "rsa:2048", CERTA_FORMAT_PEM, "s3cret");
    /* Unencrypted PKCS#8 of each type takes the narrowed decoder. */
    roundtrip(dir, "rsa:2048", CERTA_FORMAT_PEM, NULL);
    roundtrip(dir, "rsa:2048", CERTA_FORMAT_DER, NULL);
    roundtrip(dir, "ed25519", CERTA_FORMAT_DER, NULL);
    /* Forms certa does not write still load, through the general decoder. */
    char path[512];
    EVP_PKEY *k = NULL;
    snprintf(path, sizeof(path), "%s/traditional.pem", dir);
    assert_int_equal(test_sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null | "
                             "openssl rsa -traditional -out '%s' 2>/dev/null", path), 0);
    assert_int_equal(certa_key_load(path, NULL, &k), 0);
    assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_RSA);
    EVP_PKEY_free(k);
    k = NULL;
    snprintf(path, sizeof(path), "%s/sec1.pem", dir);
    assert_int_equal(test_sh("openssl ecparam -name prime256v1 -genkey -noout -out '%s' 2>/dev/null", path), 0);
    assert_int_equal(certa_key_load(path, NULL, &k), 0);
    assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
    EVP_PKEY_free(k);
    test_tmpdir_remove(dir);
}

static void test_load_garbage(void **state)
{
    (void)state;
    EVP_PKEY *k = NULL;
    const unsigned char junk[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    assert_int_equal(certa_key_load_mem(junk, sizeof(junk) - 1, NULL, &k), CERTA_EINVAL);
    assert_int_equal(certa_key_load_mem((const unsigned char *)"\x30\x03\x02\x01", 4, NULL, &k), CERTA_EINVAL);
    /* A well-formed PrivateKeyInfo naming RSA around a key that is not one. */
    static const unsigned char bad_rsa[] = { 0x30, 0x19, 0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48,
                                             0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00, 0x04, 0x05, 0x30, 0x03,
                                             0x02, 0x01, 0x01 };
    assert_int_equal(certa_key_load_mem(bad_rsa, sizeof(bad_rsa), NULL, &k), CERTA_EINVAL);
    /* The same with bytes after it. */
    unsigned char trailing[sizeof(bad_rsa) + 2];
    memcpy(trailing, bad_rsa, sizeof(bad_rsa));
    trailing[sizeof(bad_rsa)] = 0;
    trailing[sizeof(bad_rsa) + 1] = 0;
    assert_int_equal(certa_key_load_mem(trailing, sizeof(trailing), NULL, &k), CERTA_EINVAL);
    assert_int_equal(certa_key_load("/nonexistent/key.pem", NULL, &k), CERTA_ENOTFOUND);
    assert_null(k);
}

static void test_public_der_matches_openssl(void **state)
{
    (void)state;
    char *dir = test_tmpdir("keypub");
    char path[512], der[512];
    EVP_PKEY *k = NULL;
    certa_buf b = { 0 };
    snprintf(path, sizeof(path), "%s/k.pem", dir);
    snprintf(der, sizeof(der), "%s/pub.der", dir);
    assert_int_equal(certa_key_generate("ec:p256", &k), 0);
    assert_int_equal(certa_key_save(k, path, CERTA_FORMAT_PEM, NULL), 0);
    assert_int_equal(test_sh("openssl pkey -in '%s' -pubout -outform DER -out '%s'", path, der), 0);
    certa_buf spki = { 0 };
    assert_int_equal(certa_key_public_der(k, &spki), 0);
    assert_int_equal(certa_file_read(der, 4096, &b), 0);
    assert_int_equal(b.len, spki.len);
    assert_memory_equal(b.data, spki.data, b.len);
    char fp[200];
    assert_int_equal(certa_key_fingerprint(k, "md5", fp, sizeof(fp)), 0);
    assert_int_equal(strlen(fp), 47);
    assert_int_equal(certa_key_fingerprint(k, "sha3-512", fp, sizeof(fp)), CERTA_EUNSUPPORTED);
    certa_buf_free(&b);
    certa_buf_free(&spki);
    EVP_PKEY_free(k);
    test_tmpdir_remove(dir);
}

/* certa_key_from_spki: the same key as d2i_PUBKEY for every kind, RSA by
 * its own path; trailing bytes, truncation and broken RSA keys refused. */
static void test_from_spki(void **state)
{
    (void)state;
    const char *specs[] = { "rsa:2048", "rsa:3072", "ec:p256", "ec:p384", "ed25519" };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        EVP_PKEY *key = NULL, *back = NULL;
        assert_int_equal(certa_key_generate(specs[i], &key), 0);
        unsigned char *der = NULL;
        int len = i2d_PUBKEY(key, &der);
        assert_true(len > 0);
        assert_int_equal(certa_key_from_spki(der, (size_t)len, &back), 0);
        assert_int_equal(EVP_PKEY_eq(back, key), 1);
        assert_int_equal(EVP_PKEY_get_bits(back), EVP_PKEY_get_bits(key));
        EVP_PKEY_free(back);
        assert_int_equal(certa_key_from_spki(der, (size_t)len - 1, &back), CERTA_EINVAL);
        assert_null(back);
        unsigned char *longer = malloc((size_t)len + 1);
        memcpy(longer, der, (size_t)len);
        longer[len] = 0;
        assert_int_equal(certa_key_from_spki(longer, (size_t)len + 1, &back), CERTA_EINVAL);
        assert_null(back);
        free(longer);
        OPENSSL_free(der);
        EVP_PKEY_free(key);
    }
    /* RSA keys OpenSSL's own decoder would also refuse, and one it would
     * take but RFC 3279 forbids (parameters other than NULL): an even
     * modulus, a negative exponent, an INTEGER that is no RSAPublicKey. */
    static const unsigned char even_n[] = {
        0x30, 0x1b, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
        0x03, 0x0a, 0x00, 0x30, 0x07, 0x02, 0x02, 0x01, 0x00, 0x02, 0x01, 0x03 };
    static const unsigned char neg_e[] = {
        0x30, 0x1b, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
        0x03, 0x0a, 0x00, 0x30, 0x07, 0x02, 0x02, 0x01, 0x01, 0x02, 0x01, 0xfd };
    static const unsigned char not_seq[] = {
        0x30, 0x16, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
        0x03, 0x05, 0x00, 0x02, 0x02, 0x01, 0x01 };
    static const unsigned char params[] = {
        0x30, 0x1c, 0x30, 0x0e, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x02, 0x01,
        0x00, 0x03, 0x0a, 0x00, 0x30, 0x07, 0x02, 0x02, 0x01, 0x01, 0x02, 0x01, 0x03 };
    const struct { const unsigned char *der; size_t len; } bad[] = {
        { even_n, sizeof(even_n) }, { neg_e, sizeof(neg_e) }, { not_seq, sizeof(not_seq) }, { params, sizeof(params) },
        { (const unsigned char *)"hello", 5 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        EVP_PKEY *back = (EVP_PKEY *)1;
        assert_int_equal(certa_key_from_spki(bad[i].der, bad[i].len, &back), CERTA_EINVAL);
        assert_null(back);
        assert_non_null(strstr(certa_error_last(), "public key"));
    }
}

static void test_zeroize(void **state)
{
    (void)state;
    char *dir = test_tmpdir("keyz");
    char path[512];
    EVP_PKEY *k = NULL;
    snprintf(path, sizeof(path), "%s/k.pem", dir);
    assert_int_equal(certa_key_generate("ec:p256", &k), 0);
    assert_int_equal(certa_key_save(k, path, CERTA_FORMAT_PEM, NULL), 0);
    assert_int_equal(certa_key_zeroize_file(path), 0);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(certa_key_zeroize_file(path), CERTA_ENOTFOUND);
    assert_int_equal(certa_key_zeroize_file(dir), CERTA_EIO);
    EVP_PKEY_free(k);
    test_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_specs),
        cmocka_unit_test(test_generate_refused),
        cmocka_unit_test(test_weak_key_strength),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_load_garbage),
        cmocka_unit_test(test_public_der_matches_openssl),
        cmocka_unit_test(test_from_spki),
        cmocka_unit_test(test_zeroize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
