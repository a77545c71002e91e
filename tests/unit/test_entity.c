/* Unit tests for lib/entity: keystore labels and usage keys, trustpoint
 * field validation and storage round trip, the undeletable default,
 * secrets, offline enrollment and certificate import checks. */
#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/pem.h>
#include "certa/csr.h"
#include "certa/keystore.h"
#include "certa/trustpoint.h"

static void test_keystore_labels(void **state)
{
    (void)state;
    char *dir = test_tmpdir("ks");
    EVP_PKEY *k = NULL;
    struct certa_keystore_entry e;
    assert_int_equal(certa_keystore_generate(dir, "gp", "ec:p256", 0, 0), 0);
    assert_int_equal(certa_keystore_generate(dir, "gp", "ec:p256", 0, 0), CERTA_EEXIST);
    assert_int_equal(certa_keystore_generate(dir, "uk", "ec:p384", 1, 0), 0);
    assert_int_equal(certa_keystore_generate(dir, "bad.label", "ec:p256", 0, 0), CERTA_EINVAL);
    assert_int_equal(certa_keystore_generate(dir, "weak", "rsa:1024", 0, 0), CERTA_EUNSUPPORTED);
    assert_int_equal(certa_keystore_stat(dir, "weak", &e), CERTA_ENOTFOUND);

    assert_int_equal(certa_keystore_stat(dir, "uk", &e), 0);
    assert_int_equal(e.kind, CERTA_KEYSTORE_USAGE);
    assert_int_equal(certa_keystore_stat(dir, "uk-encr", &e), 0);
    assert_string_equal(e.label, "uk");

    EVP_PKEY *sign = NULL, *encr = NULL;
    assert_int_equal(certa_keystore_load(dir, "uk", CERTA_KEYROLE_ANY, &sign), 0);
    assert_int_equal(certa_keystore_load(dir, "uk-encr", CERTA_KEYROLE_ANY, &encr), 0);
    assert_int_not_equal(EVP_PKEY_eq(sign, encr), 1);
    assert_int_equal(certa_keystore_load(dir, "gp", CERTA_KEYROLE_SIGN, &k), CERTA_ENOTFOUND);
    assert_int_equal(certa_keystore_load(dir, "nope", CERTA_KEYROLE_ANY, &k), CERTA_ENOTFOUND);
    assert_null(k);

    struct certa_keystore_entry *list = NULL;
    size_t n = 0;
    assert_int_equal(certa_keystore_list(dir, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].label, "gp");
    assert_string_equal(list[1].label, "uk");
    free(list);

    /* Import the signing key under a new label, then zeroize both. */
    char path[512];
    certa_buf b = { 0 };
    snprintf(path, sizeof(path), "%s/exp.der", dir);
    assert_int_equal(certa_keystore_export(dir, "uk-sign", CERTA_KEYROLE_ANY, path, CERTA_FORMAT_DER, "pw"), 0);
    assert_int_equal(certa_file_read(path, 65536, &b), 0);
    assert_int_equal(certa_keystore_import(dir, "copy", CERTA_KEYROLE_ANY, b.data, b.len, "bad", 0), CERTA_EPASS);
    assert_int_equal(certa_keystore_import(dir, "copy", CERTA_KEYROLE_ANY, b.data, b.len, "pw", 0), 0);
    assert_int_equal(certa_keystore_load(dir, "copy", CERTA_KEYROLE_ANY, &k), 0);
    assert_int_equal(EVP_PKEY_eq(k, sign), 1);
    assert_int_equal(certa_keystore_import(dir, "junk", CERTA_KEYROLE_ANY, (const unsigned char *)"junk", 4, NULL, 0),
                     CERTA_EINVAL);
    certa_buf_free_secure(&b);

    assert_int_equal(certa_keystore_zeroize(dir, "uk"), 0);
    assert_int_equal(certa_keystore_stat(dir, "uk", &e), CERTA_ENOTFOUND);
    assert_int_equal(certa_keystore_zeroize(dir, "uk"), CERTA_ENOTFOUND);

    EVP_PKEY_free(k);
    EVP_PKEY_free(sign);
    EVP_PKEY_free(encr);
    test_tmpdir_remove(dir);
}

static void test_trustpoint_fields(void **state)
{
    (void)state;
    struct certa_trustpoint tp;
    char out[256];
    certa_trustpoint_init(&tp, "t");
    static const struct { const char *f, *v; int ok; } cases[] = {
        { "retry-period", "1", 0 },    { "retry-period", "60", 0 },   { "retry-period", "0", -1 },
        { "retry-period", "61", -1 },  { "retry-period", "5x", -1 },  { "retry-count", "100", 0 },
        { "retry-count", "101", -1 },  { "auto-enroll", "80", 0 },    { "auto-enroll", "101", -1 },
        { "key-size", "2048", 0 },     { "key-size", "1024", -1 },    { "protocol", "cmp", 0 },
        { "protocol", "http", -1 },    { "url", "https://ca/x", 0 },  { "url", "ca.example", -1 },
        { "url", "http://a b", -1 },   { "source-ip", "::1", 0 },     { "source-ip", "1.2.3", -1 },
        { "interface", "eth0.100", 0 }, { "interface", "a-very-long-interface", -1 },
        { "netns", "red", 0 },         { "netns", "../x", -1 },       { "revocation", "ocsp", 0 },
        { "revocation", "maybe", -1 }, { "legacy", "yes", 0 },        { "legacy", "perhaps", -1 },
        { "subject", "CN=a,O=b", 0 },  { "subject", "CN=a,Q=b", -1 }, { "san", "dns:a.example", 0 },
        { "san", "ftp:x", -1 },        { "key-usage", "ike", 0 },     { "key-usage", "web", -1 },
        { "digest", "sha512", 0 },     { "digest", "md4", -1 },       { "key", "r1", 0 },
        { "key", "r/1", -1 },          { "fingerprint", "SHA1:00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00 11 22 33", 0 },
        { "fingerprint", "sha1:0011", -1 }, { "proxy", "http://p:3128", 0 }, { "proxy", "socks5://p:1080", -1 }, { "proxy", "https://p:443", -1 },
        { "proxy", "p:1080", -1 },
        { "url", "http://x ;comment", -1 }, { "cmp-ref", " padded", -1 }, { "nonsense", "1", -1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = certa_trustpoint_set(&tp, cases[i].f, cases[i].v);
        if (cases[i].ok == 0 && rc != 0)
            fail_msg("%s=%s refused: %s", cases[i].f, cases[i].v, certa_error_last());
        if (cases[i].ok != 0 && rc == 0)
            fail_msg("%s=%s accepted", cases[i].f, cases[i].v);
    }
    assert_int_equal(certa_trustpoint_get(&tp, "fingerprint", out, sizeof(out)), 0);
    assert_string_equal(out, "sha1:00112233445566778899aabbccddeeff00112233");
    assert_int_equal(certa_trustpoint_get(&tp, "retry-period", out, sizeof(out)), 0);
    assert_string_equal(out, "60");
    /* Cross-field rules. */
    assert_int_equal(certa_trustpoint_validate(&tp), CERTA_EINVAL); /* source-ip and interface */
    assert_int_equal(certa_trustpoint_set(&tp, "interface", NULL), 0);
    assert_int_equal(certa_trustpoint_validate(&tp), 0);
    assert_int_equal(certa_trustpoint_set(&tp, "vrf", "blue"), 0);
    assert_int_equal(certa_trustpoint_validate(&tp), CERTA_EINVAL);
    assert_int_equal(certa_trustpoint_set(&tp, "vrf", NULL), 0);
    assert_int_equal(certa_trustpoint_set(&tp, "digest", "sha1"), 0);
    assert_int_equal(certa_trustpoint_set(&tp, "legacy", "no"), 0);
    assert_int_equal(certa_trustpoint_validate(&tp), CERTA_EPOLICY);
}

static void test_trustpoint_store(void **state)
{
    (void)state;
    char *dir = test_tmpdir("tp");
    struct certa_trustpoint tp, back;
    char **names = NULL;
    size_t n = 0;

    /* default exists before anything is saved and cannot be deleted. */
    assert_true(certa_trustpoint_exists(dir, "default"));
    assert_int_equal(certa_trustpoint_load(dir, "default", &tp), 0);
    assert_string_equal(tp.protocol, "manual");
    assert_int_equal(certa_trustpoint_delete(dir, "default"), CERTA_EPOLICY);
    assert_int_equal(certa_trustpoint_load(dir, "ghost", &tp), CERTA_ENOTFOUND);

    certa_trustpoint_init(&tp, "myca");
    assert_int_equal(certa_trustpoint_set(&tp, "protocol", "scep"), 0);
    assert_int_equal(certa_trustpoint_set(&tp, "url", "http://ca.example/cgi-bin/pkiclient.exe"), 0);
    assert_int_equal(certa_trustpoint_set(&tp, "subject", "CN=r1\\, x,O=Example"), 0);
    assert_int_equal(certa_trustpoint_set(&tp, "san", "dns:r1.example"), 0);
    assert_int_equal(certa_trustpoint_set(&tp, "san", "ip:192.0.2.1"), 0);
    assert_int_equal(certa_trustpoint_set(&tp, "retry-count", "25"), 0);
    assert_int_equal(certa_trustpoint_set(&tp, "regenerate", "yes"), 0);
    assert_int_equal(certa_trustpoint_save(dir, &tp), 0);
    assert_int_equal(certa_trustpoint_load(dir, "myca", &back), 0);
    assert_string_equal(back.url, tp.url);
    assert_string_equal(back.subject, "CN=r1\\, x,O=Example");
    assert_int_equal(back.san_count, 2);
    assert_string_equal(back.sans[1], "ip:192.0.2.1");
    assert_int_equal(back.retry_count, 25);
    assert_int_equal(back.regenerate, 1);
    assert_int_equal(back.has_challenge, 0);

    assert_int_equal(certa_trustpoint_secret_set(dir, "myca", "challenge", "pw\n"), CERTA_EINVAL);
    assert_int_equal(certa_trustpoint_secret_set(dir, "myca", "challenge", "s3cret"), 0);
    char *secret = NULL;
    assert_int_equal(certa_trustpoint_secret_get(dir, "myca", "challenge", &secret), 0);
    assert_string_equal(secret, "s3cret");
    free(secret);
    char path[512];
    struct stat st;
    assert_int_equal(certa_trustpoint_path(dir, "myca", "challenge", path, sizeof(path)), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(certa_trustpoint_list(dir, &names, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "default");
    assert_string_equal(names[1], "myca");
    certa_trustpoint_names_free(names, n);

    /* A corrupt config is an error naming the line, not a silent default. */
    assert_int_equal(certa_trustpoint_path(dir, "myca", "trustpoint.conf", path, sizeof(path)), 0);
    assert_int_equal(certa_file_write_atomic(path, "[trustpoint]\nretry-count = 500\n", 32, 0600), 0);
    assert_int_equal(certa_trustpoint_load(dir, "myca", &back), CERTA_EINVAL);
    assert_non_null(strstr(certa_error_last(), "line 2"));

    assert_int_equal(certa_trustpoint_delete(dir, "myca"), 0);
    assert_false(certa_trustpoint_exists(dir, "myca"));
    assert_int_equal(certa_trustpoint_delete(dir, "myca"), CERTA_ENOTFOUND);
    test_tmpdir_remove(dir);
}

/* A self-signed CA and a certificate for key, both built with OpenSSL. */
static X509 *make_cert(EVP_PKEY *subject_key, EVP_PKEY *issuer_key, X509 *issuer, int ca, const char *cn)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509_set_pubkey(x, subject_key);
    if (ca) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
    X509_NAME_free(name);
    return x;
}

static void pem(X509 *x, certa_buf *out)
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *p;
    PEM_write_bio_X509(mem, x);
    long n = BIO_get_mem_data(mem, &p);
    certa_buf_append(out, p, (size_t)n);
    BIO_free(mem);
}

static void test_enroll_and_import(void **state)
{
    (void)state;
    char *dir = test_tmpdir("imp");
    struct certa_trustpoint tp;
    certa_buf req = { 0 }, ca_pem = { 0 }, leaf_pem = { 0 }, other_pem = { 0 };
    EVP_PKEY *ca_key = NULL, *key = NULL, *other = NULL;

    certa_trustpoint_init(&tp, "t1");
    assert_int_equal(certa_trustpoint_set(&tp, "subject", "CN=r1.example"), 0);
    assert_int_equal(certa_trustpoint_save(dir, &tp), 0);
    assert_int_equal(certa_enroll_offline(dir, "t1", 0, &req), 0);
    X509_REQ *r = NULL;
    assert_int_equal(certa_csr_parse(req.data, req.len, &r), 0);
    X509_REQ_free(r);
    assert_int_equal(certa_keystore_load(dir, "t1", CERTA_KEYROLE_ANY, &key), 0);
    assert_int_equal(certa_enroll_online(dir, "t1"), CERTA_EINVAL); /* manual */

    assert_int_equal(certa_key_generate("ec:p256", &ca_key), 0);
    assert_int_equal(certa_key_generate("ec:p256", &other), 0);
    X509 *ca = make_cert(ca_key, ca_key, NULL, 1, "CA");
    X509 *leaf = make_cert(key, ca_key, ca, 0, "r1.example");
    X509 *wrong = make_cert(other, ca_key, ca, 0, "other");
    pem(ca, &ca_pem);
    pem(leaf, &leaf_pem);
    pem(wrong, &other_pem);

    /* CA pin: a wrong fingerprint refuses the CA. */
    assert_int_equal(certa_trustpoint_set(&tp, "fingerprint",
                                          "sha256:0000000000000000000000000000000000000000000000000000000000000000"), 0);
    assert_int_equal(certa_trustpoint_save(dir, &tp), 0);
    assert_int_equal(certa_trustpoint_import(dir, "t1", ca_pem.data, ca_pem.len, 1), CERTA_EPOLICY);
    char fp[200];
    assert_int_equal(certa_cert_fingerprint(ca, "sha256", fp, sizeof(fp)), 0);
    char pin[220];
    snprintf(pin, sizeof(pin), "sha256:%s", fp);
    assert_int_equal(certa_trustpoint_set(&tp, "fingerprint", pin), 0);
    assert_int_equal(certa_trustpoint_save(dir, &tp), 0);
    assert_int_equal(certa_trustpoint_import(dir, "t1", ca_pem.data, ca_pem.len, 1), 0);

    /* Another key's certificate, garbage, truncation: refused. */
    assert_int_equal(certa_trustpoint_import(dir, "t1", other_pem.data, other_pem.len, 0), CERTA_EPOLICY);
    assert_int_equal(certa_trustpoint_import(dir, "t1", leaf_pem.data, leaf_pem.len / 2, 0), CERTA_EINVAL);
    assert_int_equal(certa_trustpoint_import(dir, "t1", (const unsigned char *)"xx", 2, 0), CERTA_EINVAL);
    char path[512];
    assert_int_equal(certa_trustpoint_path(dir, "t1", "cert.pem", path, sizeof(path)), 0);
    assert_int_equal(access(path, F_OK), -1);

    assert_int_equal(certa_trustpoint_import(dir, "t1", leaf_pem.data, leaf_pem.len, 0), 0);
    assert_int_equal(access(path, F_OK), 0);
    STACK_OF(X509) *got = NULL;
    assert_int_equal(certa_trustpoint_read_certs(dir, "t1", "cert.pem", &got), 0);
    assert_int_equal(X509_cmp(sk_X509_value(got, 0), leaf), 0);
    sk_X509_pop_free(got, X509_free);

    X509_free(ca);
    X509_free(leaf);
    X509_free(wrong);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    certa_buf_free(&req);
    certa_buf_free(&ca_pem);
    certa_buf_free(&leaf_pem);
    certa_buf_free(&other_pem);
    test_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keystore_labels),
        cmocka_unit_test(test_trustpoint_fields),
        cmocka_unit_test(test_trustpoint_store),
        cmocka_unit_test(test_enroll_and_import),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
