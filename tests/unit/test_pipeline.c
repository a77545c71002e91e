/* Unit tests for the issuance pipeline: certificates built from the profile
 * (never CA:TRUE or keyCertSign, validity capped, EKU narrowed), serials,
 * durable rows, batches, manual approval, polling, the stored request
 * format, and the revocation hook. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "certa/ca.h"
#include "certa/csr.h"
#include "certa/key.h"
#include "ca/ca_internal.h"
#include "testutil.h"

struct fixture {
    char *dir;
    certa_ca *ca;
    EVP_PKEY *key;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = test_tmpdir("pipeline");
    char sub[512];
    snprintf(sub, sizeof(sub), "%s/ca", f->dir);
    test_ca_init(sub, "CN=Pipeline Test");
    assert_int_equal(certa_ca_open(sub, NULL, 0, &f->ca), 0);
    assert_int_equal(certa_key_generate("ec:p256", &f->key), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    certa_ca_free(f->ca);
    EVP_PKEY_free(f->key);
    test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* A request with the given extra extensions ("basicConstraints" etc. in
 * openssl config syntax); the caller frees with free_req. */
struct req {
    struct certa_request r;
    X509_NAME *name;
    STACK_OF(X509_EXTENSION) *exts;
};

static void make_req(struct req *q, EVP_PKEY *key, const char *subject, const char *const *ext_pairs)
{
    memset(q, 0, sizeof(*q));
    assert_int_equal(certa_name_parse(subject, &q->name), 0);
    q->exts = sk_X509_EXTENSION_new_null();
    for (size_t i = 0; ext_pairs && ext_pairs[i]; i += 2) {
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, NULL, ext_pairs[i], ext_pairs[i + 1]);
        assert_non_null(e);
        sk_X509_EXTENSION_push(q->exts, e);
    }
    q->r.subject = q->name;
    q->r.pubkey = key;
    q->r.extensions = q->exts;
    q->r.protocol = "cli";
    q->r.requester = "test";
}

static void free_req(struct req *q)
{
    X509_NAME_free(q->name);
    sk_X509_EXTENSION_pop_free(q->exts, X509_EXTENSION_free);
}

static int64_t store_count(certa_ca *ca, int requests)
{
    struct certa_store_stats st;
    assert_int_equal(certa_store_stats_get(certa_ca_store(ca), &st), 0);
    return requests ? st.requests : st.certificates;
}

static void test_issue_from_profile(void **state)
{
    struct fixture *f = *state;
    const char *const exts[] = { "basicConstraints", "critical,CA:TRUE",
                                 "keyUsage", "critical,keyCertSign,cRLSign,digitalSignature",
                                 "extendedKeyUsage", "serverAuth,codeSigning", NULL };
    struct req q;
    make_req(&q, f->key, "CN=leaf,O=Example", exts);
    struct certa_issue_result res;
    assert_int_equal(certa_ca_submit(f->ca, &q.r, &res), 0);
    assert_int_equal(res.decision, CERTA_DECISION_ISSUED);
    X509 *x = res.cert;
    assert_non_null(x);
    assert_int_equal(X509_check_ca(x), 0);
    assert_int_equal(X509_get_key_usage(x) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN), 0);
    assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
    /* EKU narrowed to what was asked and allowed: serverAuth only. */
    assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
    assert_non_null(X509_get0_subject_key_id(x));
    assert_non_null(X509_get0_authority_key_id(x));
    assert_int_equal(X509_verify(x, X509_get0_pubkey(certa_ca_cert(f->ca))), 1);
    /* 128-bit positive serial, recorded durably. */
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    assert_int_equal(ASN1_STRING_type(sn), V_ASN1_INTEGER);
    assert_in_range(ASN1_STRING_length(sn), 15, 16);
    char hex[CERTA_SERIAL_HEX_MAX];
    assert_int_equal(certa_serial_hex(sn, hex), 0);
    X509 *again = NULL;
    assert_int_equal(certa_ca_find_cert(f->ca, hex, &again), 0);
    assert_int_equal(X509_cmp(x, again), 0);
    X509_free(again);
    /* Validity: at most the profile's 365 days. */
    int days = 0, secs = 0;
    assert_true(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)));
    assert_true(days <= 365);
    certa_issue_result_clear(&res);
    free_req(&q);
}

static void test_validity_and_refusals(void **state)
{
    struct fixture *f = *state;
    struct req q;
    make_req(&q, f->key, "CN=short", NULL);
    q.r.not_after = (int64_t)time(NULL) + 86400 * 10;
    struct certa_issue_result res;
    assert_int_equal(certa_ca_submit(f->ca, &q.r, &res), 0);
    int days = 0, secs = 0;
    assert_true(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(res.cert)));
    assert_true(days <= 10);
    certa_issue_result_clear(&res);

    int64_t before = store_count(f->ca, 0);
    q.r.not_after = 0;
    q.r.profile = "nosuch";
    assert_int_equal(certa_ca_submit(f->ca, &q.r, &res), CERTA_ENOTFOUND);
    q.r.profile = "tls-server";
    assert_int_equal(certa_ca_submit(f->ca, &q.r, &res), 0);
    assert_int_equal(res.decision, CERTA_DECISION_REJECTED);
    assert_int_equal(res.reject_kind, CERTA_REJECT_BAD_REQUEST);
    assert_null(res.cert);
    assert_int_equal(store_count(f->ca, 0), before);
    certa_issue_result_clear(&res);
    free_req(&q);
}

static void test_batch_and_unique_serials(void **state)
{
    struct fixture *f = *state;
    enum { N = 200 };
    struct req q, bad;
    make_req(&q, f->key, "CN=batch", NULL);
    make_req(&bad, f->key, "CN=x,title=boss", NULL);
    const struct certa_request *reqs[N];
    for (int i = 0; i < N; i++)
        reqs[i] = i == 7 ? &bad.r : &q.r;
    struct certa_issue_result *res = calloc(N, sizeof(*res));
    int64_t before = store_count(f->ca, 0);
    assert_int_equal(certa_ca_submit_batch(f->ca, reqs, N, res), 0);
    assert_int_equal(store_count(f->ca, 0), before + N - 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(res[i].decision, i == 7 ? CERTA_DECISION_REJECTED : CERTA_DECISION_ISSUED);
        for (int j = 0; j < i && res[i].cert; j++)
            if (res[j].cert)
                assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(res[i].cert),
                                                      X509_get0_serialNumber(res[j].cert)), 0);
    }
    for (int i = 0; i < N; i++)
        certa_issue_result_clear(&res[i]);
    free(res);
    free_req(&q);
    free_req(&bad);
}

static void test_manual_approval_and_poll(void **state)
{
    struct fixture *f = *state;
    struct req q;
    const char *const exts[] = { "subjectAltName", "DNS:dev.example.com", NULL };
    make_req(&q, f->key, "CN=manual", exts);
    q.r.profile = "manual";
    q.r.protocol = "scep";
    q.r.transaction_id = "txn-1";
    struct certa_issue_result res;
    assert_int_equal(certa_ca_submit(f->ca, &q.r, &res), 0);
    assert_int_equal(res.decision, CERTA_DECISION_PENDING);
    int64_t id = res.request_id;
    assert_true(id > 0);
    certa_issue_result_clear(&res);

    assert_int_equal(certa_ca_poll(f->ca, "scep", "txn-1", &res), 0);
    assert_int_equal(res.decision, CERTA_DECISION_PENDING);
    certa_issue_result_clear(&res);
    assert_int_equal(certa_ca_poll(f->ca, "scep", "nope", &res), CERTA_ENOTFOUND);

    X509 *x = NULL;
    assert_int_equal(certa_ca_approve(f->ca, id, &x), 0);
    assert_non_null(x);
    assert_int_equal(X509_check_ca(x), 0);
    assert_int_equal(certa_ca_approve(f->ca, id, NULL), CERTA_ESTATE);
    assert_int_equal(certa_ca_reject(f->ca, id, "late"), CERTA_ESTATE);
    assert_int_equal(certa_ca_poll(f->ca, "scep", "txn-1", &res), 0);
    assert_int_equal(res.decision, CERTA_DECISION_ISSUED);
    assert_int_equal(X509_cmp(res.cert, x), 0);
    certa_issue_result_clear(&res);
    X509_free(x);

    q.r.transaction_id = "txn-2";
    assert_int_equal(certa_ca_submit(f->ca, &q.r, &res), 0);
    id = res.request_id;
    certa_issue_result_clear(&res);
    assert_int_equal(certa_ca_reject(f->ca, id, "not ours"), 0);
    assert_int_equal(certa_ca_poll(f->ca, "scep", "txn-2", &res), 0);
    assert_int_equal(res.decision, CERTA_DECISION_REJECTED);
    assert_int_equal(res.reject_kind, CERTA_REJECT_OPERATOR);
    assert_string_equal(res.reason, "not ours");
    certa_issue_result_clear(&res);
    assert_int_equal(certa_ca_approve(f->ca, 99999, NULL), CERTA_ENOTFOUND);
    free_req(&q);
}

static void test_request_roundtrip(void **state)
{
    struct fixture *f = *state;
    struct req q;
    const char *const exts[] = { "subjectAltName", "DNS:a.example.com,IP:10.0.0.1", "extendedKeyUsage", "clientAuth", NULL };
    make_req(&q, f->key, "CN=round,O=Trip", exts);
    GENERAL_NAMES *sans = X509V3_get_d2i(q.exts, NID_subject_alt_name, NULL, NULL);
    q.r.sans = sans;
    q.r.transaction_id = "t";
    q.r.profile = "ipsec";
    certa_buf body = { 0 };
    assert_int_equal(certa_request_serialize(&q.r, &body), 0);
    struct certa_stored_request sr;
    assert_int_equal(certa_request_deserialize(body.data, body.len, &sr), 0);
    assert_int_equal(X509_NAME_cmp(sr.req.subject, q.name), 0);
    assert_int_equal(EVP_PKEY_eq(sr.req.pubkey, f->key), 1);
    assert_int_equal(sk_GENERAL_NAME_num(sr.req.sans), 2);
    assert_int_equal(sk_X509_EXTENSION_num(sr.exts), 2);
    assert_string_equal(sr.req.profile, "ipsec");
    assert_string_equal(sr.req.transaction_id, "t");
    certa_stored_request_clear(&sr);
    assert_int_equal(certa_request_deserialize((const unsigned char *)"{\"v\":1}", 7, &sr), CERTA_EINVAL);
    assert_int_equal(certa_request_deserialize((const unsigned char *)"garbage", 7, &sr), CERTA_EINVAL);
    certa_buf_free(&body);
    GENERAL_NAMES_free(sans);
    free_req(&q);
}

static int hook_calls;
static char hook_serial[64];
static void hook(certa_ca *ca, const char *serial, void *arg)
{
    (void)ca;
    hook_calls += *(int *)arg;
    snprintf(hook_serial, sizeof(hook_serial), "%s", serial);
}

static void test_revoke_hook(void **state)
{
    struct fixture *f = *state;
    int one = 1;
    certa_ca_notify_revoked(f->ca, "ab");   /* no hook: nothing happens */
    certa_ca_set_revoke_hook(f->ca, hook, &one);
    certa_ca_notify_revoked(f->ca, "abcd");
    assert_int_equal(hook_calls, 1);
    assert_string_equal(hook_serial, "abcd");
}

static void test_readonly_cannot_issue(void **state)
{
    struct fixture *f = *state;
    certa_ca *ro = NULL;
    assert_int_equal(certa_ca_open(certa_ca_dir(f->ca), NULL, CERTA_CA_READONLY, &ro), 0);
    assert_null(certa_ca_key(ro));
    struct req q;
    make_req(&q, f->key, "CN=ro", NULL);
    struct certa_issue_result res;
    assert_int_equal(certa_ca_submit(ro, &q.r, &res), CERTA_ESTATE);
    free_req(&q);
    certa_ca_free(ro);
}

/* certa_ca_prepare signs without writing; certa_ca_record_prepared writes
 * inside the caller's transaction: a rollback leaves neither row, a commit
 * both (request issued with the certificate's serial, certificate pointing
 * at the request). */
static void test_prepare_record(void **state)
{
    struct fixture *f = *state;
    struct req q;
    make_req(&q, f->key, "CN=prepared", NULL);
    q.r.protocol = "scep";
    q.r.transaction_id = "tx-prepared";
    certa_store *st = certa_ca_store(f->ca);
    int64_t c0 = store_count(f->ca, 0), r0 = store_count(f->ca, 1);
    struct certa_ca_prepared pp;
    assert_int_equal(certa_ca_prepare(f->ca, &q.r, &pp), 0);
    assert_int_equal(pp.res.decision, CERTA_DECISION_ISSUED);
    assert_non_null(pp.res.cert);
    assert_int_equal(store_count(f->ca, 0), c0);
    assert_int_equal(store_count(f->ca, 1), r0);
    /* Recorded, then rolled back: nothing stays. */
    assert_int_equal(certa_store_begin(st), 0);
    assert_int_equal(certa_ca_record_prepared(f->ca, &pp), 0);
    assert_int_equal(certa_store_rollback(st), 0);
    assert_int_equal(store_count(f->ca, 0), c0);
    assert_int_equal(store_count(f->ca, 1), r0);
    /* Recorded and committed: both rows, and a poll finds the certificate. */
    assert_int_equal(certa_store_begin(st), 0);
    assert_int_equal(certa_ca_record_prepared(f->ca, &pp), 0);
    assert_int_equal(certa_store_commit(st), 0);
    assert_int_equal(store_count(f->ca, 0), c0 + 1);
    assert_int_equal(store_count(f->ca, 1), r0 + 1);
    struct certa_issue_result polled;
    assert_int_equal(certa_ca_poll(f->ca, "scep", "tx-prepared", &polled), 0);
    assert_int_equal(polled.decision, CERTA_DECISION_ISSUED);
    assert_int_equal(X509_cmp(polled.cert, pp.res.cert), 0);
    assert_int_equal(polled.request_id, pp.res.request_id);
    certa_issue_result_clear(&polled);
    certa_ca_prepared_clear(&pp);
    /* A refused request is decided without a certificate and records nothing. */
    struct req bad;
    make_req(&bad, f->key, "CN=x,title=boss", NULL);
    assert_int_equal(certa_ca_prepare(f->ca, &bad.r, &pp), 0);
    assert_int_equal(pp.res.decision, CERTA_DECISION_REJECTED);
    assert_null(pp.res.cert);
    assert_int_equal(certa_store_begin(st), 0);
    assert_int_equal(certa_ca_record_prepared(f->ca, &pp), 0);
    assert_int_equal(certa_store_commit(st), 0);
    assert_int_equal(store_count(f->ca, 0), c0 + 1);
    assert_int_equal(store_count(f->ca, 1), r0 + 1);
    certa_ca_prepared_clear(&pp);
    free_req(&bad);
    free_req(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_issue_from_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validity_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_and_unique_serials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manual_approval_and_poll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_cannot_issue, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
