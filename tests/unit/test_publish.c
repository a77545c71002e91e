/* Unit tests for CRL and CA-certificate distribution: the documents at the
 * stable URLs (checked with OpenSSL's CRL parser and signature check), ETag
 * and If-Modified-Since answered with 304, regeneration by tick() after a
 * revocation by another handle and after the revoked() callback, and the
 * refusals (404, 405). */
#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "certa/ca.h"
#include "certa/service.h"
#include "proto/publish_http.h"

extern const struct certa_service certa_service_publish;

struct fx {
    char *dir;
    char cadir[512];
    certa_ca *ca, *ca2;
    void *svc;
    char crl[128], delta[128], crt[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->dir = test_tmpdir("publish");
    snprintf(f->cadir, sizeof(f->cadir), "%s/unitca", f->dir);
    test_ca_init(f->cadir, "CN=Unit CRL CA");
    assert_int_equal(certa_ca_open(f->cadir, NULL, 0, &f->ca), 0);
    assert_int_equal(certa_ca_open(f->cadir, NULL, CERTA_CA_NOKEY, &f->ca2), 0);
    test_store_add_cert(certa_ca_store(f->ca), "a1");
    test_store_add_cert(certa_ca_store(f->ca), "a2");
    struct certa_service_env env = { .ca = f->ca };
    assert_int_equal(certa_service_publish.start(&env, &f->svc), 0);
    snprintf(f->crl, sizeof(f->crl), "/crl/%s.crl", certa_ca_name(f->ca));
    snprintf(f->delta, sizeof(f->delta), "/crl/%s-delta.crl", certa_ca_name(f->ca));
    snprintf(f->crt, sizeof(f->crt), "/ca/%s.crt", certa_ca_name(f->ca));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    certa_service_publish.stop(f->svc);
    certa_ca_free(f->ca);
    certa_ca_free(f->ca2);
    test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static void get(struct fx *f, const char *method, const char *path, const char *inm,
                const char *ims, struct certa_http_response *res)
{
    struct certa_http_request req = { .method = method, .path = path, .if_none_match = inm,
                                      .if_modified_since = ims };
    memset(res, 0, sizeof(*res));
    res->status = 500;
    assert_int_equal(certa_service_publish.handle(f->svc, f->ca, &req, res), 0);
}

/* The CRL served at path, checked against the CA key. */
static X509_CRL *fetch_crl(struct fx *f, const char *path, struct certa_http_response *res)
{
    get(f, "GET", path, NULL, NULL, res);
    assert_int_equal(res->status, 200);
    assert_string_equal(res->content_type, "application/pkix-crl");
    const unsigned char *p = res->body.data;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)res->body.len);
    assert_non_null(crl);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(certa_ca_cert(f->ca))), 1);
    return crl;
}

static int listed(X509_CRL *crl, const char *hex)
{
    BIGNUM *bn = NULL;
    BN_hex2bn(&bn, hex);
    ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
    X509_REVOKED *rev = NULL;
    int r = X509_CRL_get0_by_serial(crl, &rev, ai);
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return r == 1;
}

static void test_documents(void **state)
{
    struct fx *f = *state;
    struct certa_http_response res;
    X509_CRL *crl = fetch_crl(f, f->crl, &res);
    assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) <= 0);   /* none listed */
    assert_int_equal(X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1), -1);
    assert_true(res.etag[0] == '"' && res.last_modified > 0 && res.expires > 0);
    assert_non_null(strstr(res.cache_control, "max-age="));
    X509_CRL_free(crl);
    certa_buf_free(&res.body);

    crl = fetch_crl(f, f->delta, &res);
    assert_true(X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0);
    X509_CRL_free(crl);
    certa_buf_free(&res.body);

    get(f, "GET", f->crt, NULL, NULL, &res);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type, "application/pkix-cert");
    const unsigned char *p = res.body.data;
    X509 *x = d2i_X509(NULL, &p, (long)res.body.len);
    assert_non_null(x);
    assert_int_equal(X509_cmp(x, certa_ca_cert(f->ca)), 0);
    X509_free(x);
    certa_buf_free(&res.body);

    get(f, "GET", "/crl/other.crl", NULL, NULL, &res);
    assert_int_equal(res.status, 404);
    certa_buf_free(&res.body);
    get(f, "GET", "/ca/other.crt", NULL, NULL, &res);
    assert_int_equal(res.status, 404);
    certa_buf_free(&res.body);
    get(f, "POST", f->crl, NULL, NULL, &res);
    assert_int_equal(res.status, 405);
    certa_buf_free(&res.body);
    get(f, "HEAD", f->crl, NULL, NULL, &res);
    assert_int_equal(res.status, 200);
    certa_buf_free(&res.body);
}

static void test_conditional(void **state)
{
    struct fx *f = *state;
    struct certa_http_response res, again;
    const char *docs[] = { f->crl, f->delta, f->crt };
    for (int i = 0; i < 3; i++) {
        get(f, "GET", docs[i], NULL, NULL, &res);
        assert_int_equal(res.status, 200);
        get(f, "GET", docs[i], res.etag, NULL, &again);
        assert_int_equal(again.status, 304);
        assert_int_equal(again.body.len, 0);
        assert_string_equal(again.etag, res.etag);
        certa_buf_free(&again.body);
        char list[160];
        snprintf(list, sizeof(list), "\"other\", W/%s", res.etag);
        get(f, "GET", docs[i], list, NULL, &again);
        assert_int_equal(again.status, 304);
        certa_buf_free(&again.body);
        get(f, "GET", docs[i], "\"other\"", NULL, &again);
        assert_int_equal(again.status, 200);
        certa_buf_free(&again.body);
        /* If-None-Match wins over If-Modified-Since. */
        get(f, "GET", docs[i], "\"other\"", "Fri, 01 Jan 2100 00:00:00 GMT", &again);
        assert_int_equal(again.status, 200);
        certa_buf_free(&again.body);
        get(f, "GET", docs[i], NULL, "Fri, 01 Jan 2100 00:00:00 GMT", &again);
        assert_int_equal(again.status, 304);
        certa_buf_free(&again.body);
        get(f, "GET", docs[i], NULL, "Sun, 06 Nov 1994 08:49:37 GMT", &again);
        assert_int_equal(again.status, 200);
        certa_buf_free(&again.body);
        get(f, "GET", docs[i], NULL, "not a date", &again);
        assert_int_equal(again.status, 200);
        certa_buf_free(&again.body);
        certa_buf_free(&res.body);
    }
    assert_int_equal(publish_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    assert_int_equal(publish_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    assert_int_equal(publish_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
    assert_int_equal(publish_http_date("06 Nov 1994"), -1);
}

static void test_regenerated_after_revocation(void **state)
{
    struct fx *f = *state;
    struct certa_http_response before, res;
    get(f, "GET", f->crl, NULL, NULL, &before);
    /* Nothing changed: a tick keeps the same CRL. */
    certa_service_publish.tick(f->svc, f->ca);
    get(f, "GET", f->crl, before.etag, NULL, &res);
    assert_int_equal(res.status, 304);
    certa_buf_free(&res.body);

    /* Another process revokes: the next tick signs new CRLs listing it. */
    assert_int_equal(certa_ca_revoke(f->ca2, "a1", CERTA_REASON_KEY_COMPROMISE, 0), 0);
    certa_service_publish.tick(f->svc, f->ca);
    X509_CRL *crl = fetch_crl(f, f->crl, &res);
    assert_true(listed(crl, "a1"));
    assert_false(listed(crl, "a2"));
    assert_string_not_equal(res.etag, before.etag);
    X509_CRL_free(crl);
    /* The old ETag no longer gets a 304. */
    struct certa_http_response cond;
    get(f, "GET", f->crl, before.etag, NULL, &cond);
    assert_int_equal(cond.status, 200);
    certa_buf_free(&cond.body);
    certa_buf_free(&res.body);
    certa_buf_free(&before.body);

    /* Revoked through this process: revoked() then a tick. */
    assert_int_equal(certa_ca_revoke(f->ca, "a2", CERTA_REASON_SUPERSEDED, 0), 0);
    certa_service_publish.revoked(f->svc, "a2");
    certa_service_publish.tick(f->svc, f->ca);
    crl = fetch_crl(f, f->crl, &res);
    assert_true(listed(crl, "a1") && listed(crl, "a2"));
    X509_CRL_free(crl);
    certa_buf_free(&res.body);
    /* The delta is current too (base = the full CRL just signed: empty). */
    crl = fetch_crl(f, f->delta, &res);
    assert_true(X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0);
    X509_CRL_free(crl);
    certa_buf_free(&res.body);
}

static int64_t fake_now;
static int64_t fake_clock(void) { return fake_now; }

/* Scheduled re-signing: the delta (24 h) an hour before its nextUpdate, the
 * full CRL (168 h) an hour before its own, the delta with it. */
static void test_schedule(void **state)
{
    struct fx *f = *state;
    int64_t (*saved)(void) = publish_clock;
    struct certa_http_response full0, delta0, res;
    get(f, "GET", f->crl, NULL, NULL, &full0);
    get(f, "GET", f->delta, NULL, NULL, &delta0);
    fake_now = (int64_t)time(NULL);
    publish_clock = fake_clock;
    int64_t t0 = fake_now;
    fake_now = t0 + 23 * 3600 - 5;
    certa_service_publish.tick(f->svc, f->ca);
    get(f, "GET", f->delta, delta0.etag, NULL, &res);
    assert_int_equal(res.status, 304);
    certa_buf_free(&res.body);
    fake_now = t0 + 23 * 3600 + 5;
    certa_service_publish.tick(f->svc, f->ca);
    get(f, "GET", f->delta, delta0.etag, NULL, &res);
    assert_int_equal(res.status, 200);           /* a new delta */
    certa_buf_free(&res.body);
    get(f, "GET", f->crl, full0.etag, NULL, &res);
    assert_int_equal(res.status, 304);           /* the same full CRL */
    certa_buf_free(&res.body);
    fake_now = t0 + 167 * 3600 + 5;
    certa_service_publish.tick(f->svc, f->ca);
    get(f, "GET", f->crl, full0.etag, NULL, &res);
    assert_int_equal(res.status, 200);           /* a new full CRL */
    certa_buf_free(&res.body);
    publish_clock = saved;
    certa_buf_free(&full0.body);
    certa_buf_free(&delta0.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conditional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regenerated_after_revocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schedule, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
