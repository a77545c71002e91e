/* Unit tests for profiles (ca.conf parsing, refusals of unsafe settings) and
 * the policy that checks a request against a profile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rsa.h>
#include "certa/ca.h"
#include "certa/csr.h"
#include "certa/key.h"
#include "ca/ca_internal.h"
#include "testutil.h"

static char *make_ca(const char *extra_conf)
{
    char *dir = test_tmpdir("profile");
    char sub[512];
    snprintf(sub, sizeof(sub), "%s/ca", dir);
    test_ca_init(sub, "CN=Profile Test");
    if (extra_conf != NULL) {
        char conf[600];
        snprintf(conf, sizeof(conf), "%s/ca.conf", sub);
        FILE *f = fopen(conf, "a");
        assert_non_null(f);
        fputs(extra_conf, f);
        fclose(f);
    }
    return dir;
}

static int open_ca(const char *dir, certa_ca **ca)
{
    char sub[512];
    snprintf(sub, sizeof(sub), "%s/ca", dir);
    return certa_ca_open(sub, NULL, 0, ca);
}

static void test_default_profiles(void **state)
{
    (void)state;
    char *dir = make_ca(NULL);
    certa_ca *ca = NULL;
    assert_int_equal(open_ca(dir, &ca), 0);
    const certa_profile *p = certa_ca_profile(ca, NULL);
    assert_non_null(p);
    assert_string_equal(certa_profile_name(p), "default");
    assert_false(certa_profile_manual_approval(p));
    assert_true(certa_profile_manual_approval(certa_ca_profile(ca, "manual")));
    assert_true(certa_profile_legacy(certa_ca_profile(ca, "legacy")));
    assert_non_null(certa_ca_profile(ca, "ipsec"));
    assert_null(certa_ca_profile(ca, "nosuch"));
    assert_int_equal(certa_error_last_code(), CERTA_ENOTFOUND);
    assert_non_null(strstr(certa_error_last(), "nosuch"));
    assert_string_equal(certa_ca_setting(ca, "crl", "next_update_hours"), "168");
    assert_string_equal(certa_ca_setting(ca, "ca", "store"), "sqlite:ca.db");
    assert_null(certa_ca_setting(ca, "ca", "nosuch"));
    /* {base_url} and {name} expanded in the CDP. */
    assert_non_null(p->cdp_ext);
    assert_string_equal(p->crl_url, "http://127.0.0.1:8080/crl/ca.crl");
    certa_ca_free(ca);
    test_tmpdir_remove(dir);
}

static void expect_open_fails(const char *conf, int code, const char *needle)
{
    char *dir = make_ca(conf);
    certa_ca *ca = NULL;
    assert_int_equal(open_ca(dir, &ca), code);
    assert_null(ca);
    assert_non_null(strstr(certa_error_last(), needle));
    test_tmpdir_remove(dir);
}

static void test_unsafe_profiles_refused(void **state)
{
    (void)state;
    expect_open_fails("[profile p]\ndigest = sha1\n", CERTA_EPOLICY, "legacy = yes");
    expect_open_fails("[profile p]\nkey_usage = digitalSignature, keyCertSign\n", CERTA_EPOLICY, "keyCertSign");
    expect_open_fails("[profile p]\ndays = 0\n", CERTA_EINVAL, "days");
    expect_open_fails("[profile p]\nbogus = 1\n", CERTA_EINVAL, "bogus");
    expect_open_fails("[profile p]\nkey_types = rsa:1024\n", CERTA_EINVAL, "rsa:1024");
    expect_open_fails("[profile p]\nextended_key_usage = nonsense\n", CERTA_EINVAL, "nonsense");
    expect_open_fails("[profile p]\nsan = dns\nsan.ip = 10.*\n", CERTA_EINVAL, "san.ip");
    expect_open_fails("[profile p]\napproval = sometimes\n", CERTA_EINVAL, "sometimes");
}

static void test_keyusage_parse(void **state)
{
    (void)state;
    unsigned bits = 0;
    assert_int_equal(certa_profile_parse_keyusage("digitalSignature, keyEncipherment", &bits), 0);
    assert_int_equal(bits, 0x5u);
    assert_int_equal(certa_profile_parse_keyusage("key-agreement nonRepudiation", &bits), 0);
    assert_int_equal(bits, (1u << 4) | (1u << 1));
    assert_int_equal(certa_profile_parse_keyusage("digitalSignature, fly", &bits), CERTA_EINVAL);
}

static void check(certa_ca *ca, const char *profile, EVP_PKEY *key, const char *subject,
                  const char *san, int want_kind, const char *needle)
{
    X509_NAME *name = NULL;
    GENERAL_NAMES *sans = NULL;
    assert_int_equal(certa_name_parse(subject, &name), 0);
    if (san != NULL) {
        GENERAL_NAME *gn = NULL;
        assert_int_equal(certa_san_parse(san, &gn), 0);
        sans = GENERAL_NAMES_new();
        sk_GENERAL_NAME_push(sans, gn);
    }
    struct certa_request req = { .subject = name, .sans = sans, .pubkey = key };
    int kind = -1;
    char reason[256];
    int rc = certa_policy_check(ca, certa_ca_profile(ca, profile), &req, &kind, reason, sizeof(reason));
    assert_int_equal(rc, want_kind == CERTA_REJECT_NONE ? 0 : 1);
    assert_int_equal(kind, want_kind);
    if (needle != NULL)
        assert_non_null(strstr(reason, needle));
    X509_NAME_free(name);
    GENERAL_NAMES_free(sans);
}

static void test_policy(void **state)
{
    (void)state;
    char *dir = make_ca("[profile dev]\nkey_types = ec:p256\nsubject = CN O\nsubject.O = Example*\n"
                        "san = dns ip\nsan.dns = *.dev.example\nsan.ip = 10.*\n");
    certa_ca *ca = NULL;
    assert_int_equal(open_ca(dir, &ca), 0);
    EVP_PKEY *p256 = NULL, *p384 = NULL, *rsa1024 = EVP_RSA_gen(1024);
    assert_int_equal(certa_key_generate("ec:p256", &p256), 0);
    assert_int_equal(certa_key_generate("ec:p384", &p384), 0);
    assert_non_null(rsa1024);

    check(ca, "dev", p256, "CN=a,O=Example Ltd", "dns:a.dev.example", CERTA_REJECT_NONE, NULL);
    check(ca, "dev", p256, "CN=a", "ip:10.1.2.3", CERTA_REJECT_NONE, NULL);
    check(ca, "dev", p384, "CN=a", NULL, CERTA_REJECT_BAD_ALG, "ec:");
    check(ca, "default", rsa1024, "CN=a", NULL, CERTA_REJECT_BAD_ALG, "rsa:1024");
    check(ca, "default", p384, "CN=a", NULL, CERTA_REJECT_NONE, NULL);
    check(ca, "dev", p256, "CN=a,OU=x", NULL, CERTA_REJECT_BAD_REQUEST, "OU");
    check(ca, "dev", p256, "CN=a,O=Other", NULL, CERTA_REJECT_BAD_REQUEST, "pattern");
    check(ca, "dev", p256, "CN=a", "dns:a.example.org", CERTA_REJECT_BAD_REQUEST, "dns:a.example.org");
    check(ca, "dev", p256, "CN=a", "ip:192.168.1.1", CERTA_REJECT_BAD_REQUEST, "192.168.1.1");
    check(ca, "dev", p256, "CN=a", "email:a@b.c", CERTA_REJECT_BAD_REQUEST, "SAN type email");

    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(rsa1024);
    certa_ca_free(ca);
    test_tmpdir_remove(dir);
}

static void test_ocsp_nocheck(void **state)
{
    (void)state;
    char *dir = make_ca("[profile ocsp]\nextended_key_usage = ocsp-signing\nocsp_nocheck = yes\n"
                        "key_usage = digitalSignature\ncrl_url =\n");
    certa_ca *ca = NULL;
    assert_int_equal(open_ca(dir, &ca), 0);
    EVP_PKEY *key = NULL;
    X509_NAME *name = NULL;
    assert_int_equal(certa_key_generate("ec:p256", &key), 0);
    assert_int_equal(certa_name_parse("CN=OCSP signer", &name), 0);
    struct certa_request req = { .subject = name, .pubkey = key, .profile = "ocsp" };
    struct certa_issue_result res;
    assert_int_equal(certa_ca_submit(ca, &req, &res), 0);
    assert_int_equal(res.decision, CERTA_DECISION_ISSUED);
    assert_true(X509_get_ext_by_NID(res.cert, NID_id_pkix_OCSP_noCheck, -1) >= 0);
    assert_true(X509_get_ext_by_NID(res.cert, NID_crl_distribution_points, -1) < 0);
    assert_int_equal(X509_get_extended_key_usage(res.cert), XKU_OCSP_SIGN);
    certa_issue_result_clear(&res);
    X509_NAME_free(name);
    EVP_PKEY_free(key);
    certa_ca_free(ca);
    test_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_profiles),
        cmocka_unit_test(test_unsafe_profiles_refused),
        cmocka_unit_test(test_keyusage_parse),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_ocsp_nocheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
