/* Unit tests for revocation through a real CA handle: certa_ca_revoke,
 * certa_ca_revoke_many (all or nothing), certa_ca_release_hold, the revoke
 * hook, certa_ca_status for OCSP, and certa_ca_crl numbering; refused
 * operations must leave the store exactly as it was. */
#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "certa/ca.h"

struct fx {
    char *dir;
    char cadir[512];
    certa_ca *ca;
    int hook_calls;
    char last[CERTA_SERIAL_HEX_MAX];
};

static void hook(certa_ca *ca, const char *serial, void *arg)
{
    (void)ca;
    struct fx *f = arg;
    f->hook_calls++;
    snprintf(f->last, sizeof(f->last), "%s", serial);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->dir = test_tmpdir("crlca");
    snprintf(f->cadir, sizeof(f->cadir), "%s/ca", f->dir);
    test_ca_init(f->cadir, "CN=Unit CA");
    assert_int_equal(certa_ca_open(f->cadir, NULL, 0, &f->ca), 0);
    certa_ca_set_revoke_hook(f->ca, hook, f);
    test_store_add_cert(certa_ca_store(f->ca), "a1");
    test_store_add_cert(certa_ca_store(f->ca), "a2");
    test_store_add_cert(certa_ca_store(f->ca), "a3");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    certa_ca_free(f->ca);
    test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* What a refused operation must not change. */
struct snap { int64_t revoked, rev_seq, crl; char base[32]; };

static void snap(certa_ca *ca, struct snap *s)
{
    struct certa_store_stats st;
    certa_store *store = certa_ca_store(ca);
    assert_int_equal(certa_store_stats_get(store, &st), 0);
    s->revoked = st.revoked;
    assert_int_equal(certa_store_counter_get(store, "revocation", &s->rev_seq), 0);
    assert_int_equal(certa_store_counter_get(store, "crl", &s->crl), 0);
    if (certa_store_meta_get(store, "crl.base_number", s->base, sizeof(s->base)) != 0)
        strcpy(s->base, "-");
}

static void assert_unchanged(certa_ca *ca, const struct snap *before)
{
    struct snap now;
    snap(ca, &now);
    assert_int_equal(now.revoked, before->revoked);
    assert_int_equal(now.rev_seq, before->rev_seq);
    assert_int_equal(now.crl, before->crl);
    assert_string_equal(now.base, before->base);
}

static void test_revoke_and_status(void **state)
{
    struct fx *f = *state;
    struct certa_cert_status st;
    const unsigned char a1[] = { 0x00, 0xa1 }, a2[] = { 0xa2 }, never[] = { 0x0b, 0xad };
    assert_int_equal(certa_ca_status(f->ca, a1, sizeof(a1), &st), 0);
    assert_int_equal(st.state, CERTA_STATE_GOOD);
    assert_int_equal(certa_ca_revoke(f->ca, "serial=A1", CERTA_REASON_KEY_COMPROMISE, 0), 0);
    assert_int_equal(f->hook_calls, 1);
    assert_string_equal(f->last, "a1");
    assert_int_equal(certa_ca_status(f->ca, a1, sizeof(a1), &st), 0);
    assert_int_equal(st.state, CERTA_STATE_REVOKED);
    assert_int_equal(st.reason, CERTA_REASON_KEY_COMPROMISE);
    assert_true(st.revoked_at > 0);
    assert_int_equal(st.not_after, 4000000000LL);
    assert_int_equal(certa_ca_status(f->ca, never, sizeof(never), &st), 0);
    assert_int_equal(st.state, CERTA_STATE_UNKNOWN);

    /* Hold, status REVOKED/certificateHold, release, GOOD again. */
    assert_int_equal(certa_ca_revoke(f->ca, "A2", CERTA_REASON_CERTIFICATE_HOLD, 0), 0);
    assert_int_equal(certa_ca_status(f->ca, a2, sizeof(a2), &st), 0);
    assert_int_equal(st.state, CERTA_STATE_REVOKED);
    assert_int_equal(st.reason, CERTA_REASON_CERTIFICATE_HOLD);
    assert_int_equal(certa_ca_release_hold(f->ca, "a2"), 0);
    assert_int_equal(f->hook_calls, 3);
    assert_int_equal(certa_ca_status(f->ca, a2, sizeof(a2), &st), 0);
    assert_int_equal(st.state, CERTA_STATE_GOOD);

    /* Refusals change nothing and call no hook. */
    struct snap before;
    snap(f->ca, &before);
    assert_int_equal(certa_ca_revoke(f->ca, "ff", 1, 0), CERTA_ENOTFOUND);
    assert_int_equal(certa_ca_revoke(f->ca, "a1", 1, 0), CERTA_ESTATE);
    assert_int_equal(certa_ca_revoke(f->ca, "a3", CERTA_REASON_REMOVE_FROM_CRL, 0), CERTA_EINVAL);
    assert_int_equal(certa_ca_revoke(f->ca, "a3", 7, 0), CERTA_EINVAL);
    assert_int_equal(certa_ca_revoke(f->ca, "a3", 42, 0), CERTA_EINVAL);
    assert_int_equal(certa_ca_revoke(f->ca, "a3", 1, 4000000000LL), CERTA_EINVAL);
    assert_int_equal(certa_ca_revoke(f->ca, "xx", 1, 0), CERTA_EINVAL);
    assert_int_equal(certa_ca_release_hold(f->ca, "a3"), CERTA_ESTATE);
    assert_int_equal(f->hook_calls, 3);
    assert_unchanged(f->ca, &before);
}

static void test_revoke_many(void **state)
{
    struct fx *f = *state;
    const char *bad[] = { "a1", "A2", "0bad", "a3" };
    size_t failed = 99;
    struct snap before;
    snap(f->ca, &before);
    assert_int_equal(certa_ca_revoke_many(f->ca, bad, 4, 1, &failed), CERTA_ENOTFOUND);
    assert_int_equal(failed, 2);
    assert_non_null(strstr(certa_error_last(), "nothing was revoked"));
    assert_unchanged(f->ca, &before);
    assert_int_equal(f->hook_calls, 0);
    const char *dup[] = { "a1", "a1" };
    assert_int_equal(certa_ca_revoke_many(f->ca, dup, 2, 1, &failed), CERTA_ESTATE);
    assert_int_equal(failed, 1);
    assert_unchanged(f->ca, &before);
    const char *good[] = { "serial=A1", "a2", "00:A3" };
    assert_int_equal(certa_ca_revoke_many(f->ca, good, 3, CERTA_REASON_SUPERSEDED, NULL), 0);
    assert_int_equal(f->hook_calls, 3);
    struct snap after;
    snap(f->ca, &after);
    assert_int_equal(after.revoked, 3);
}

static void test_crl_numbers(void **state)
{
    struct fx *f = *state;
    certa_buf der = { 0 };
    struct snap before;
    snap(f->ca, &before);
    assert_int_equal(certa_ca_crl(f->ca, 1, &der), CERTA_ESTATE);   /* delta without a base */
    assert_int_equal(der.len, 0);
    assert_unchanged(f->ca, &before);
    assert_int_equal(certa_ca_revoke(f->ca, "a1", 1, 0), 0);
    assert_int_equal(certa_ca_crl(f->ca, 0, &der), 0);
    assert_true(der.len > 0);
    char path[600];
    snprintf(path, sizeof(path), "%s/full.der", f->dir);
    assert_int_equal(certa_file_write_atomic(path, der.data, der.len, 0644), 0);
    assert_int_equal(test_sh("openssl crl -inform DER -in '%s' -CAfile '%s/ca.crt' -verify "
                             "-noout -text 2>&1 | grep -q 'Serial Number: A1'", path,
                             f->cadir), 0);
    certa_buf_free(&der);
    assert_int_equal(certa_ca_revoke(f->ca, "a2", 4, 0), 0);
    assert_int_equal(certa_ca_crl(f->ca, 1, &der), 0);
    snprintf(path, sizeof(path), "%s/delta.der", f->dir);
    assert_int_equal(certa_file_write_atomic(path, der.data, der.len, 0644), 0);
    assert_int_equal(test_sh("openssl crl -inform DER -in '%s' -CAfile '%s/ca.crt' -verify "
                             "-noout -text > '%s/delta.txt' 2>&1", path, f->cadir, f->dir), 0);
    assert_int_equal(test_sh("grep -q 'Serial Number: A2' '%s/delta.txt' && "
                             "! grep -q 'Serial Number: A1' '%s/delta.txt' && "
                             "grep -A1 'Delta CRL Indicator' '%s/delta.txt' | grep -qx ' *1' && "
                             "grep -A1 'CRL Number' '%s/delta.txt' | grep -qx ' *2'",
                             f->dir, f->dir, f->dir, f->dir), 0);
    certa_buf_free(&der);
    /* A non-empty output buffer is refused before anything is taken. */
    certa_buf_append(&der, "x", 1);
    snap(f->ca, &before);
    assert_int_equal(certa_ca_crl(f->ca, 0, &der), CERTA_EINVAL);
    assert_unchanged(f->ca, &before);
    certa_buf_free(&der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_revoke_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crl_numbers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
