/* Unit tests for challenge passwords: format, salted hash only in the
 * store, one use by default, N and unlimited uses, lifetime, subject
 * patterns (CN and whole-DN forms), wrong and unknown passwords. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include "certa/challenge.h"
#include "certa/csr.h"
#include "testutil.h"

struct fx {
    char *dir;
    certa_store *s;
    X509_NAME *rtr, *other;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->dir = test_tmpdir("challenge");
    char path[512];
    snprintf(path, sizeof(path), "%s/ca.db", f->dir);
    assert_int_equal(certa_store_open(path, CERTA_STORE_CREATE, &f->s), 0);
    assert_int_equal(certa_name_parse("CN=rtr-1.example.net,O=Example", &f->rtr), 0);
    assert_int_equal(certa_name_parse("CN=laptop,O=Example", &f->other), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    certa_store_close(f->s);
    X509_NAME_free(f->rtr);
    X509_NAME_free(f->other);
    test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static void test_one_use(void **state)
{
    struct fx *f = *state;
    char pw[CERTA_CHALLENGE_LEN + 1], ref[CERTA_CHALLENGE_REF_LEN + 1], got[CERTA_CHALLENGE_REF_LEN + 1];
    struct certa_challenge_params p = { 0 };
    assert_int_equal(certa_challenge_create(f->s, &p, pw, ref), 0);
    assert_int_equal(strlen(pw), CERTA_CHALLENGE_LEN);
    assert_int_equal(strspn(pw, "0123456789abcdefghjkmnpqrstvwxyz"), CERTA_CHALLENGE_LEN);
    assert_memory_equal(pw, ref, CERTA_CHALLENGE_REF_LEN);
    /* only a salted hash is stored */
    struct certa_secret_row row = { 0 };
    assert_int_equal(certa_store_secret_get(f->s, CERTA_CHALLENGE_KIND, ref, &row), 0);
    assert_int_equal(row.uses_left, 1);
    assert_null(memmem(row.blob, row.blob_len, pw + CERTA_CHALLENGE_REF_LEN, CERTA_CHALLENGE_LEN - CERTA_CHALLENGE_REF_LEN));
    /* version 1, one PBKDF2-HMAC-SHA256 round over a 16-byte salt: the
     * hash is what OpenSSL computes from them */
    assert_int_equal(row.blob_len, 1 + 4 + 16 + 32);
    assert_int_equal(row.blob[0], 1);
    assert_memory_equal(row.blob + 1, "\0\0\0\1", 4);
    unsigned char want[32];
    assert_int_equal(PKCS5_PBKDF2_HMAC(pw, CERTA_CHALLENGE_LEN, row.blob + 5, 16, 1, EVP_sha256(), 32, want), 1);
    assert_memory_equal(row.blob + 21, want, 32);
    certa_secret_row_clear(&row);
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(certa_challenge_check(f->s, pw, f->rtr, now, got, NULL), 0);
    assert_string_equal(got, ref);
    /* checking does not use it up; consuming does */
    assert_int_equal(certa_challenge_check(f->s, pw, f->rtr, now, got, NULL), 0);
    assert_int_equal(certa_challenge_consume(f->s, ref, now), 0);
    assert_int_equal(certa_challenge_check(f->s, pw, f->rtr, now, got, NULL), CERTA_ESTATE);
    assert_int_equal(certa_challenge_consume(f->s, ref, now), CERTA_ESTATE);
}

/* A row stored with another round count (100, as before) verifies with its
 * own count; a wrong password against it does not. */
static void test_stored_count(void **state)
{
    struct fx *f = *state;
    const char *pw = "legacy00abcdefghjkmnpqrstvwxyz01";
    unsigned char blob[1 + 4 + 16 + 32] = { 1, 0, 0, 0, 100 };
    memset(blob + 5, 0x5a, 16);
    assert_int_equal(strlen(pw), CERTA_CHALLENGE_LEN);
    assert_int_equal(PKCS5_PBKDF2_HMAC(pw, CERTA_CHALLENGE_LEN, blob + 5, 16, 100, EVP_sha256(), 32, blob + 21), 1);
    struct certa_secret_row row = {
        .kind = CERTA_CHALLENGE_KIND, .ref = "legacy00", .blob = blob, .blob_len = sizeof(blob), .uses_left = 1,
        .created_at = (int64_t)time(NULL),
    };
    assert_int_equal(certa_store_secret_insert(f->s, &row), 0);
    char got[CERTA_CHALLENGE_REF_LEN + 1];
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(certa_challenge_check(f->s, pw, f->rtr, now, got, NULL), 0);
    assert_string_equal(got, "legacy00");
    assert_int_equal(certa_challenge_check(f->s, "legacy00abcdefghjkmnpqrstvwxyz02", f->rtr, now, got, NULL),
                     CERTA_EPASS);
}

static void test_wrong_unknown(void **state)
{
    struct fx *f = *state;
    char pw[CERTA_CHALLENGE_LEN + 1], ref[CERTA_CHALLENGE_REF_LEN + 1], got[CERTA_CHALLENGE_REF_LEN + 1];
    struct certa_challenge_params p = { 0 };
    assert_int_equal(certa_challenge_create(f->s, &p, pw, ref), 0);
    int64_t now = (int64_t)time(NULL);
    char wrong[CERTA_CHALLENGE_LEN + 1];
    memcpy(wrong, pw, sizeof(wrong));
    wrong[20] = wrong[20] == 'z' ? 'y' : 'z';
    assert_int_equal(certa_challenge_check(f->s, wrong, f->rtr, now, got, NULL), CERTA_EPASS);
    assert_int_equal(certa_challenge_check(f->s, "zzzzzzzz-not-a-known-reference", f->rtr, now, got, NULL), CERTA_EPASS);
    assert_int_equal(certa_challenge_check(f->s, "short", f->rtr, now, got, NULL), CERTA_EPASS);
    assert_int_equal(certa_challenge_check(f->s, NULL, f->rtr, now, got, NULL), CERTA_EPASS);
    char longpw[CERTA_CHALLENGE_MAX + 8];
    memset(longpw, 'a', sizeof(longpw) - 1);
    longpw[sizeof(longpw) - 1] = '\0';
    assert_int_equal(certa_challenge_check(f->s, longpw, f->rtr, now, got, NULL), CERTA_EPASS);
    /* a prefix of the right password is not the password */
    pw[CERTA_CHALLENGE_LEN - 1] = '\0';
    assert_int_equal(certa_challenge_check(f->s, pw, f->rtr, now, got, NULL), CERTA_EPASS);
}

static void test_uses_ttl(void **state)
{
    struct fx *f = *state;
    char pw[CERTA_CHALLENGE_LEN + 1], ref[CERTA_CHALLENGE_REF_LEN + 1], got[CERTA_CHALLENGE_REF_LEN + 1];
    int64_t now = (int64_t)time(NULL);
    struct certa_challenge_params three = { .uses = 3, .ttl = 60 };
    assert_int_equal(certa_challenge_create(f->s, &three, pw, ref), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(certa_challenge_check(f->s, pw, f->rtr, now, got, NULL), 0);
        assert_int_equal(certa_challenge_consume(f->s, ref, now), 0);
    }
    assert_int_equal(certa_challenge_check(f->s, pw, f->rtr, now, got, NULL), CERTA_ESTATE);
    struct certa_challenge_params unl = { .uses = -1, .ttl = 60 };
    assert_int_equal(certa_challenge_create(f->s, &unl, pw, ref), 0);
    int uses = 0;
    assert_int_equal(certa_challenge_check(f->s, pw, f->rtr, now, got, &uses), 0);
    assert_int_equal(uses, -1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(certa_challenge_consume(f->s, ref, now), 0);
    assert_int_equal(certa_challenge_check(f->s, pw, f->rtr, now, got, NULL), 0);
    /* past its lifetime */
    assert_int_equal(certa_challenge_check(f->s, pw, f->rtr, now + 61, got, NULL), CERTA_ESTATE);
    struct certa_challenge_params bad = { .uses = -2 };
    assert_int_equal(certa_challenge_create(f->s, &bad, pw, ref), CERTA_EINVAL);
}

static void test_subject(void **state)
{
    struct fx *f = *state;
    char pw[CERTA_CHALLENGE_LEN + 1], ref[CERTA_CHALLENGE_REF_LEN + 1], got[CERTA_CHALLENGE_REF_LEN + 1];
    int64_t now = (int64_t)time(NULL);
    struct certa_challenge_params cn = { .subject_pattern = "rtr-*.example.net" };
    assert_int_equal(certa_challenge_create(f->s, &cn, pw, ref), 0);
    assert_int_equal(certa_challenge_check(f->s, pw, f->other, now, got, NULL), CERTA_EPOLICY);
    assert_int_equal(certa_challenge_check(f->s, pw, f->rtr, now, got, NULL), 0);
    struct certa_challenge_params dn = { .subject_pattern = "CN=rtr-1.example.net, O=Ex*" };
    assert_int_equal(certa_challenge_create(f->s, &dn, pw, ref), 0);
    assert_int_equal(certa_challenge_check(f->s, pw, f->rtr, now, got, NULL), 0);
    assert_int_equal(certa_challenge_check(f->s, pw, f->other, now, got, NULL), CERTA_EPOLICY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stored_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uses_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subject, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
