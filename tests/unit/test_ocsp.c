/* Unit tests for the OCSP responder module: handle() driven directly with
 * requests built by OpenSSL, answers parsed and verified by OpenSSL.
 * good / revoked / unknown, nonce echo and refusal, another issuer, garbage,
 * several CertIDs, the cache (hits, invalidation by the revoked() callback
 * and by tick() after another handle revoked), GET with 304, and a delegated
 * signer. Refused requests must leave the store unchanged. */
#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include "certa/ca.h"
#include "certa/ca_ocsp.h"
#include "certa/service.h"
#include "proto/ocsp_internal.h"

extern const struct certa_service certa_service_ocsp;
static int64_t (*saved_clock)(void);

struct fx {
    char *dir;
    char cadir[512], otherdir[512];
    certa_ca *ca, *ca2, *other;
    void *svc;
};

static const char *setting_none(void *arg, const char *section, const char *key)
{
    (void)arg, (void)section, (void)key;
    return NULL;
}

static void start_service(struct fx *f)
{
    struct certa_service_env env = { .ca = f->ca, .setting = setting_none };
    assert_int_equal(certa_service_ocsp.start(&env, &f->svc), 0);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->dir = test_tmpdir("ocsp");
    snprintf(f->cadir, sizeof(f->cadir), "%s/ca", f->dir);
    snprintf(f->otherdir, sizeof(f->otherdir), "%s/other", f->dir);
    test_ca_init(f->cadir, "CN=Unit OCSP CA");
    /* Another CA with the same subject name: only the key hash tells them apart. */
    test_ca_init(f->otherdir, "CN=Unit OCSP CA");
    assert_int_equal(certa_ca_open(f->cadir, NULL, 0, &f->ca), 0);
    assert_int_equal(certa_ca_open(f->cadir, NULL, CERTA_CA_NOKEY, &f->ca2), 0);
    assert_int_equal(certa_ca_open(f->otherdir, NULL, 0, &f->other), 0);
    test_store_add_cert(certa_ca_store(f->ca), "a1");
    test_store_add_cert(certa_ca_store(f->ca), "a2");
    test_store_add_cert(certa_ca_store(f->ca), "1b3");
    test_store_add_cert(certa_ca_store(f->other), "a1");
    start_service(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    certa_service_ocsp.stop(f->svc);
    certa_ca_free(f->ca);
    certa_ca_free(f->ca2);
    certa_ca_free(f->other);
    test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static OCSP_CERTID *cid(X509 *issuer, const char *hex, const EVP_MD *md)
{
    BIGNUM *bn = NULL;
    assert_true(BN_hex2bn(&bn, hex) > 0);
    ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
    OCSP_CERTID *id = OCSP_cert_id_new(md, X509_get_subject_name(issuer),
                                       X509_get0_pubkey_bitstr(issuer), ai);
    assert_non_null(id);
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return id;
}

/* A request for the serials (NULL-terminated), with a nonce of nonce_len
 * octets (-1: none). */
static OCSP_REQUEST *request(X509 *issuer, const EVP_MD *md, int nonce_len, const char *const *serials)
{
    OCSP_REQUEST *r = OCSP_REQUEST_new();
    for (size_t i = 0; serials[i]; i++)
        assert_non_null(OCSP_request_add0_id(r, cid(issuer, serials[i], md)));
    if (nonce_len > 0) {
        unsigned char val[64];
        memset(val, 0x5a, sizeof(val));
        assert_int_equal(OCSP_request_add1_nonce(r, val, nonce_len), 1);
    } else if (nonce_len == 0) {
        /* OpenSSL would pick a default length for 0: encode an empty one. */
        ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new(), *outer = ASN1_OCTET_STRING_new();
        unsigned char *der = NULL;
        int n = i2d_ASN1_OCTET_STRING(inner, &der);
        assert_true(n == 2 && ASN1_OCTET_STRING_set(outer, der, n));
        X509_EXTENSION *ext = X509_EXTENSION_create_by_NID(NULL, NID_id_pkix_OCSP_Nonce, 0, outer);
        assert_int_equal(OCSP_REQUEST_add_ext(r, ext, -1), 1);
        X509_EXTENSION_free(ext);
        OPENSSL_free(der);
        ASN1_OCTET_STRING_free(inner);
        ASN1_OCTET_STRING_free(outer);
    }
    return r;
}

static int der_of(OCSP_REQUEST *r, unsigned char **der)
{
    *der = NULL;
    int n = i2d_OCSP_REQUEST(r, der);
    assert_true(n > 0);
    return n;
}

static void call(struct fx *f, const char *method, const char *path, const unsigned char *body,
                 size_t len, const char *inm, struct certa_http_response *res)
{
    struct certa_http_request req = { .method = method, .path = path, .body = body,
                                      .body_len = len, .if_none_match = inm,
                                      .content_type = "application/ocsp-request" };
    memset(res, 0, sizeof(*res));
    res->status = 500;
    assert_int_equal(certa_service_ocsp.handle(f->svc, f->ca, &req, res), 0);
}

static void post(struct fx *f, OCSP_REQUEST *r, struct certa_http_response *res)
{
    unsigned char *der;
    int n = der_of(r, &der);
    call(f, "POST", "/ocsp", der, (size_t)n, NULL, res);
    OPENSSL_free(der);
}

/* The response's OCSPResponseStatus; the basic response when successful. */
static int resp_status(const struct certa_http_response *res, OCSP_BASICRESP **bs)
{
    assert_int_equal(res->status, 200);
    assert_string_equal(res->content_type, "application/ocsp-response");
    const unsigned char *p = res->body.data;
    OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)res->body.len);
    assert_non_null(r);
    assert_ptr_equal(p, res->body.data + res->body.len);
    int st = OCSP_response_status(r);
    if (bs != NULL)
        *bs = st == OCSP_RESPONSE_STATUS_SUCCESSFUL ? OCSP_response_get1_basic(r) : NULL;
    OCSP_RESPONSE_free(r);
    return st;
}

static void verify(OCSP_BASICRESP *bs, X509 *ca)
{
    X509_STORE *store = X509_STORE_new();
    STACK_OF(X509) *certs = sk_X509_new_null();
    X509_STORE_add_cert(store, ca);
    sk_X509_push(certs, ca);
    assert_int_equal(OCSP_basic_verify(bs, certs, store, 0), 1);
    sk_X509_free(certs);
    X509_STORE_free(store);
}

static int status_of(OCSP_BASICRESP *bs, X509 *issuer, const char *hex, const EVP_MD *md,
                     int *reason, int64_t *revtime)
{
    OCSP_CERTID *id = cid(issuer, hex, md);
    int status = -1, r = -1;
    ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
    assert_int_equal(OCSP_resp_find_status(bs, id, &status, &r, &rev, &thisupd, &nextupd), 1);
    assert_int_equal(OCSP_check_validity(thisupd, nextupd, 300, -1), 1);
    if (reason)
        *reason = r;
    if (revtime && rev) {
        struct tm tm;
        assert_true(ASN1_TIME_to_tm(rev, &tm));
        *revtime = (int64_t)timegm(&tm);
    }
    OCSP_CERTID_free(id);
    return status;
}

/* What a refused request must not change. */
struct snap { int64_t certs, revoked, seq; };
static void snap(certa_ca *ca, struct snap *s)
{
    struct certa_store_stats st;
    assert_int_equal(certa_store_stats_get(certa_ca_store(ca), &st), 0);
    s->certs = st.certificates;
    s->revoked = st.revoked;
    assert_int_equal(certa_store_counter_get(certa_ca_store(ca), "revocation", &s->seq), 0);
}
static void assert_unchanged(certa_ca *ca, const struct snap *b)
{
    struct snap now;
    snap(ca, &now);
    assert_int_equal(now.certs, b->certs);
    assert_int_equal(now.revoked, b->revoked);
    assert_int_equal(now.seq, b->seq);
}

static void test_good_revoked_unknown(void **state)
{
    struct fx *f = *state;
    X509 *ca = certa_ca_cert(f->ca);
    struct certa_http_response res;
    OCSP_BASICRESP *bs;
    int64_t before = (int64_t)time(NULL);
    assert_int_equal(certa_ca_revoke(f->ca, "a2", CERTA_REASON_KEY_COMPROMISE, 0), 0);
    const EVP_MD *mds[] = { EVP_sha1(), EVP_sha256() };
    for (int m = 0; m < 2; m++) {
        const char *const good[] = { "a1", NULL }, *const rev[] = { "a2", NULL },
                          *const unk[] = { "c0ffee", NULL }, *const odd[] = { "01b3", NULL };
        int reason;
        int64_t revtime = 0;
        OCSP_REQUEST *r = request(ca, mds[m], -1, good);
        post(f, r, &res);
        assert_int_equal(resp_status(&res, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
        verify(bs, ca);
        assert_int_equal(status_of(bs, ca, "a1", mds[m], NULL, NULL), V_OCSP_CERTSTATUS_GOOD);
        assert_non_null(strstr(res.cache_control, "max-age="));
        assert_non_null(strstr(res.cache_control, "public, no-transform, must-revalidate"));
        assert_true(res.etag[0] == '"' && res.last_modified > 0 && res.expires > res.last_modified);
        OCSP_BASICRESP_free(bs);
        OCSP_REQUEST_free(r);
        certa_buf_free(&res.body);

        r = request(ca, mds[m], -1, rev);
        post(f, r, &res);
        assert_int_equal(resp_status(&res, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
        verify(bs, ca);
        assert_int_equal(status_of(bs, ca, "a2", mds[m], &reason, &revtime), V_OCSP_CERTSTATUS_REVOKED);
        assert_int_equal(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
        assert_true(revtime >= before - 1 && revtime <= (int64_t)time(NULL));
        OCSP_BASICRESP_free(bs);
        OCSP_REQUEST_free(r);
        certa_buf_free(&res.body);

        /* Never issued here: unknown, never good; and not cached. */
        r = request(ca, mds[m], -1, unk);
        post(f, r, &res);
        assert_int_equal(resp_status(&res, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
        assert_int_equal(status_of(bs, ca, "c0ffee", mds[m], NULL, NULL), V_OCSP_CERTSTATUS_UNKNOWN);
        assert_string_equal(res.etag, "");
        OCSP_BASICRESP_free(bs);
        OCSP_REQUEST_free(r);
        certa_buf_free(&res.body);

        /* An odd number of hex digits in the store (1b3). */
        r = request(ca, mds[m], -1, odd);
        post(f, r, &res);
        assert_int_equal(resp_status(&res, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
        assert_int_equal(status_of(bs, ca, "1b3", mds[m], NULL, NULL), V_OCSP_CERTSTATUS_GOOD);
        OCSP_BASICRESP_free(bs);
        OCSP_REQUEST_free(r);
        certa_buf_free(&res.body);
    }
}

static void test_nonce(void **state)
{
    struct fx *f = *state;
    X509 *ca = certa_ca_cert(f->ca);
    const char *const good[] = { "a1", NULL };
    struct certa_http_response res;
    OCSP_BASICRESP *bs;
    struct snap s;
    snap(f->ca, &s);
    const int ok_lens[] = { 1, 16, 32 };
    for (size_t i = 0; i < 3; i++) {
        OCSP_REQUEST *r = request(ca, EVP_sha1(), ok_lens[i], good);
        post(f, r, &res);
        assert_int_equal(resp_status(&res, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
        verify(bs, ca);
        assert_int_equal(OCSP_check_nonce(r, bs), 1);
        assert_int_equal(status_of(bs, ca, "a1", EVP_sha1(), NULL, NULL), V_OCSP_CERTSTATUS_GOOD);
        assert_string_equal(res.etag, "");   /* per request, not for caches */
        OCSP_BASICRESP_free(bs);
        OCSP_REQUEST_free(r);
        certa_buf_free(&res.body);
    }
    const int bad_lens[] = { 0, 33 };
    for (size_t i = 0; i < 2; i++) {
        OCSP_REQUEST *r = request(ca, EVP_sha1(), bad_lens[i], good);
        post(f, r, &res);
        assert_int_equal(resp_status(&res, NULL), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
        assert_non_null(strstr(res.log_detail, "malformedRequest"));
        OCSP_REQUEST_free(r);
        certa_buf_free(&res.body);
    }
    assert_unchanged(f->ca, &s);
}

static void test_unauthorized_and_malformed(void **state)
{
    struct fx *f = *state;
    X509 *ca = certa_ca_cert(f->ca), *other = certa_ca_cert(f->other);
    const char *const a1[] = { "a1", NULL };
    struct certa_http_response res;
    struct snap s;
    snap(f->ca, &s);
    /* Same issuer name, another key: unauthorized, with SHA-1 and SHA-256. */
    const EVP_MD *mds[] = { EVP_sha1(), EVP_sha256() };
    for (int m = 0; m < 2; m++) {
        OCSP_REQUEST *r = request(other, mds[m], -1, a1);
        post(f, r, &res);
        assert_int_equal(resp_status(&res, NULL), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
        OCSP_REQUEST_free(r);
        certa_buf_free(&res.body);
    }
    /* One of ours and one of theirs in one request. */
    OCSP_REQUEST *mixed = request(ca, EVP_sha1(), -1, a1);
    OCSP_request_add0_id(mixed, cid(other, "a1", EVP_sha1()));
    post(f, mixed, &res);
    assert_int_equal(resp_status(&res, NULL), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
    OCSP_REQUEST_free(mixed);
    certa_buf_free(&res.body);

    /* Garbage, truncated, trailing bytes, empty, no CertID. */
    OCSP_REQUEST *r = request(ca, EVP_sha1(), -1, a1);
    unsigned char *der;
    int n = der_of(r, &der);
    unsigned char big[600];
    memset(big, 0x41, sizeof(big));
    memcpy(big, der, (size_t)n);
    struct { const unsigned char *p; size_t len; } bad[] = {
        { (const unsigned char *)"hello world", 11 }, { der, (size_t)n - 1 }, { der, (size_t)n / 2 },
        { big, (size_t)n + 3 }, { der, 0 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        call(f, "POST", "/ocsp", bad[i].p, bad[i].len, NULL, &res);
        assert_int_equal(resp_status(&res, NULL), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
        certa_buf_free(&res.body);
    }
    OPENSSL_free(der);
    OCSP_REQUEST_free(r);
    OCSP_REQUEST *empty = OCSP_REQUEST_new();
    post(f, empty, &res);
    assert_int_equal(resp_status(&res, NULL), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    OCSP_REQUEST_free(empty);
    certa_buf_free(&res.body);
    /* Over the CertID bound (16 by default). */
    const char *many[18];
    for (int i = 0; i < 17; i++)
        many[i] = "a1";
    many[17] = NULL;
    r = request(ca, EVP_sha1(), -1, many);
    post(f, r, &res);
    assert_int_equal(resp_status(&res, NULL), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    OCSP_REQUEST_free(r);
    certa_buf_free(&res.body);
    /* Bad GET: not base64. */
    call(f, "GET", "/ocsp/%%%not*base64", NULL, 0, NULL, &res);
    assert_int_equal(resp_status(&res, NULL), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    certa_buf_free(&res.body);
    call(f, "PUT", "/ocsp", NULL, 0, NULL, &res);
    assert_int_equal(res.status, 405);
    certa_buf_free(&res.body);
    assert_unchanged(f->ca, &s);
}

static void test_several_certids(void **state)
{
    struct fx *f = *state;
    X509 *ca = certa_ca_cert(f->ca);
    struct certa_http_response res;
    OCSP_BASICRESP *bs;
    assert_int_equal(certa_ca_revoke(f->ca, "a2", CERTA_REASON_SUPERSEDED, 0), 0);
    const char *const ids[] = { "a1", "a2", "c0ffee", NULL };
    OCSP_REQUEST *r = request(ca, EVP_sha256(), 8, ids);
    post(f, r, &res);
    assert_int_equal(resp_status(&res, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    verify(bs, ca);
    assert_int_equal(OCSP_resp_count(bs), 3);
    int reason;
    assert_int_equal(status_of(bs, ca, "a1", EVP_sha256(), NULL, NULL), V_OCSP_CERTSTATUS_GOOD);
    assert_int_equal(status_of(bs, ca, "a2", EVP_sha256(), &reason, NULL), V_OCSP_CERTSTATUS_REVOKED);
    assert_int_equal(reason, OCSP_REVOKED_STATUS_SUPERSEDED);
    assert_int_equal(status_of(bs, ca, "c0ffee", EVP_sha256(), NULL, NULL), V_OCSP_CERTSTATUS_UNKNOWN);
    assert_int_equal(OCSP_check_nonce(r, bs), 1);
    OCSP_BASICRESP_free(bs);
    OCSP_REQUEST_free(r);
    certa_buf_free(&res.body);
}

static int status_now(struct fx *f, const char *hex, struct certa_http_response *res)
{
    const char *const ids[] = { hex, NULL };
    OCSP_BASICRESP *bs;
    OCSP_REQUEST *r = request(certa_ca_cert(f->ca), EVP_sha1(), -1, ids);
    post(f, r, res);
    assert_int_equal(resp_status(res, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    verify(bs, certa_ca_cert(f->ca));
    int st = status_of(bs, certa_ca_cert(f->ca), hex, EVP_sha1(), NULL, NULL);
    OCSP_BASICRESP_free(bs);
    OCSP_REQUEST_free(r);
    return st;
}

static void test_cache(void **state)
{
    struct fx *f = *state;
    struct certa_http_response r1, r2;
    assert_int_equal(status_now(f, "a1", &r1), V_OCSP_CERTSTATUS_GOOD);
    assert_non_null(strstr(r1.log_detail, "signed"));
    assert_int_equal(status_now(f, "a1", &r2), V_OCSP_CERTSTATUS_GOOD);
    assert_non_null(strstr(r2.log_detail, "cached"));
    /* The very same pre-signed bytes. */
    assert_int_equal(r1.body.len, r2.body.len);
    assert_memory_equal(r1.body.data, r2.body.data, r1.body.len);
    assert_string_equal(r1.etag, r2.etag);
    certa_buf_free(&r1.body);
    certa_buf_free(&r2.body);

    /* Revoked through this process: the revoked() callback drops it at once. */
    assert_int_equal(certa_ca_revoke(f->ca, "a1", CERTA_REASON_KEY_COMPROMISE, 0), 0);
    certa_service_ocsp.revoked(f->svc, "a1");
    assert_int_equal(status_now(f, "a1", &r1), V_OCSP_CERTSTATUS_REVOKED);
    certa_buf_free(&r1.body);

    /* Revoked by another process (another handle): the next tick notices. */
    assert_int_equal(status_now(f, "1b3", &r1), V_OCSP_CERTSTATUS_GOOD);
    assert_int_equal(status_now(f, "1b3", &r2), V_OCSP_CERTSTATUS_GOOD);
    assert_non_null(strstr(r2.log_detail, "cached"));
    certa_buf_free(&r1.body);
    certa_buf_free(&r2.body);
    assert_int_equal(certa_ca_revoke(f->ca2, "1b3", CERTA_REASON_CERTIFICATE_HOLD, 0), 0);
    assert_int_equal(status_now(f, "1b3", &r1), V_OCSP_CERTSTATUS_GOOD);  /* not noticed yet */
    certa_buf_free(&r1.body);
    certa_service_ocsp.tick(f->svc, f->ca);
    /* tick() re-signed it already: served from the cache, revoked. */
    assert_int_equal(status_now(f, "1b3", &r1), V_OCSP_CERTSTATUS_REVOKED);
    assert_non_null(strstr(r1.log_detail, "cached"));
    certa_buf_free(&r1.body);
    /* A hold released by the other process: good again after a tick. */
    assert_int_equal(certa_ca_release_hold(f->ca2, "1b3"), 0);
    certa_service_ocsp.tick(f->svc, f->ca);
    assert_int_equal(status_now(f, "1b3", &r1), V_OCSP_CERTSTATUS_GOOD);
    certa_buf_free(&r1.body);
}

/* The exact-bytes fast path (ocsp_memo.c): a repeated request is answered
 * without decoding, with exactly what the full path answers, follows
 * revocations at once, and never serves a request with a nonce. */
static void test_memo_fast_path(void **state)
{
    struct fx *f = *state;
    X509 *ca = certa_ca_cert(f->ca);
    const char *const ids[] = { "a1", NULL };
    struct certa_http_response first, again, other;
    OCSP_REQUEST *r = request(ca, EVP_sha1(), -1, ids);
    post(f, r, &first);                                 /* decoded, signed, cached */
    assert_non_null(strstr(first.log_detail, "signed"));
    post(f, r, &again);                                 /* the same bytes: the memo */
    assert_non_null(strstr(again.log_detail, "cached"));
    assert_int_equal(again.body.len, first.body.len);
    assert_memory_equal(again.body.data, first.body.data, first.body.len);
    assert_string_equal(again.etag, first.etag);
    assert_string_equal(again.cache_control, first.cache_control);
    assert_int_equal(again.last_modified, first.last_modified);
    assert_int_equal(again.expires, first.expires);
    certa_buf_free(&again.body);

    /* Other bytes for the same CertID (a requestorName): decoded, and the
     * same pre-signed answer as the fast path gave. */
    OCSP_REQUEST *named = request(ca, EVP_sha1(), -1, ids);
    X509_NAME *nm = X509_NAME_new();
    assert_int_equal(X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"dev",
                                                -1, -1, 0), 1);
    assert_int_equal(OCSP_request_set1_name(named, nm), 1);
    X509_NAME_free(nm);
    post(f, named, &other);
    assert_memory_equal(other.body.data, first.body.data, first.body.len);
    certa_buf_free(&other.body);

    /* With a nonce, the same CertID is signed afresh and its nonce echoed,
     * however often the nonce-less bytes were seen. */
    for (int len = 8; len <= 9; len++) {
        OCSP_REQUEST *nr = request(ca, EVP_sha1(), len, ids);
        OCSP_BASICRESP *bs;
        post(f, nr, &other);
        assert_int_equal(resp_status(&other, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
        assert_int_equal(OCSP_check_nonce(nr, bs), 1);
        assert_non_null(strstr(other.log_detail, "nonce"));
        assert_string_equal(other.etag, "");
        OCSP_BASICRESP_free(bs);
        OCSP_REQUEST_free(nr);
        certa_buf_free(&other.body);
    }

    /* The RFC 5019 GET form, remembered by its text: the same answer. */
    unsigned char *rder;
    int rn = der_of(r, &rder);
    char b64[512], path[600];
    EVP_EncodeBlock((unsigned char *)b64, rder, rn);
    OPENSSL_free(rder);
    snprintf(path, sizeof(path), "/ocsp/%s", b64);
    for (int i = 0; i < 2; i++) {
        call(f, "GET", path, NULL, 0, NULL, &other);
        assert_non_null(strstr(other.log_detail, "cached"));
        assert_memory_equal(other.body.data, first.body.data, first.body.len);
        certa_buf_free(&other.body);
    }

    /* Revoked by another handle: after the tick that notices, the very same
     * bytes get the revoked answer, and that one is what the full path gives. */
    assert_int_equal(certa_ca_revoke(f->ca2, "a1", CERTA_REASON_KEY_COMPROMISE, 0), 0);
    certa_service_ocsp.tick(f->svc, f->ca);
    post(f, r, &again);
    OCSP_BASICRESP *bs;
    assert_int_equal(resp_status(&again, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    verify(bs, ca);
    assert_int_equal(status_of(bs, ca, "a1", EVP_sha1(), NULL, NULL), V_OCSP_CERTSTATUS_REVOKED);
    OCSP_BASICRESP_free(bs);
    post(f, named, &other);
    assert_int_equal(other.body.len, again.body.len);
    assert_memory_equal(other.body.data, again.body.data, again.body.len);
    certa_buf_free(&other.body);
    call(f, "GET", path, NULL, 0, NULL, &other);        /* the remembered GET text too */
    assert_int_equal(other.body.len, again.body.len);
    assert_memory_equal(other.body.data, again.body.data, again.body.len);
    certa_buf_free(&other.body);
    certa_buf_free(&again.body);

    /* Revoked through this process: the revoked() callback, at once. */
    const char *const a2[] = { "a2", NULL };
    OCSP_REQUEST *r2 = request(ca, EVP_sha1(), -1, a2);
    post(f, r2, &again);
    certa_buf_free(&again.body);
    post(f, r2, &again);
    assert_non_null(strstr(again.log_detail, "good serial=a2 cached"));
    certa_buf_free(&again.body);
    assert_int_equal(certa_ca_revoke(f->ca, "a2", CERTA_REASON_SUPERSEDED, 0), 0);
    certa_service_ocsp.revoked(f->svc, "a2");
    post(f, r2, &again);
    assert_int_equal(resp_status(&again, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    assert_int_equal(status_of(bs, ca, "a2", EVP_sha1(), NULL, NULL), V_OCSP_CERTSTATUS_REVOKED);
    OCSP_BASICRESP_free(bs);
    certa_buf_free(&again.body);

    /* The other CA's request for the same serial is not this CA's: refused,
     * however familiar its serial. */
    OCSP_REQUEST *foreign = request(certa_ca_cert(f->other), EVP_sha1(), -1, ids);
    post(f, foreign, &other);
    assert_int_equal(resp_status(&other, NULL), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
    certa_buf_free(&other.body);
    OCSP_REQUEST_free(foreign);
    OCSP_REQUEST_free(r2);
    OCSP_REQUEST_free(named);
    OCSP_REQUEST_free(r);
    certa_buf_free(&first.body);
}

/* The memo alone: exact bytes only, bounded, long requests left out. */
static void test_memo_unit(void **state)
{
    (void)state;
    struct ocsp_memo *m;
    assert_int_equal(ocsp_memo_new(64, &m), 0);
    unsigned char req[OCSP_MEMO_REQ_MAX + 1], key[OCSP_CERTID_MAX], serial[OCSP_SERIAL_MAX];
    unsigned char k2[OCSP_CERTID_MAX], s2[OCSP_SERIAL_MAX];
    size_t kl, sl;
    memset(req, 0x30, sizeof(req));
    memset(key, 0x11, sizeof(key));
    memset(serial, 0x22, sizeof(serial));
    ocsp_memo_put(m, req, 80, key, 40, serial, 16);
    assert_int_equal(ocsp_memo_get(m, req, 80, k2, &kl, s2, &sl), 1);
    assert_int_equal(kl, 40);
    assert_int_equal(sl, 16);
    assert_memory_equal(k2, key, 40);
    assert_memory_equal(s2, serial, 16);
    assert_int_equal(ocsp_memo_get(m, req, 79, k2, &kl, s2, &sl), 0);      /* a prefix */
    req[40] ^= 1;
    assert_int_equal(ocsp_memo_get(m, req, 80, k2, &kl, s2, &sl), 0);      /* one bit off */
    req[40] ^= 1;
    ocsp_memo_put(m, req, sizeof(req), key, 40, serial, 16);               /* too long to keep */
    assert_int_equal(ocsp_memo_get(m, req, sizeof(req), k2, &kl, s2, &sl), 0);
    for (unsigned i = 0; i < 5000; i++) {
        memcpy(req, &i, sizeof(i));
        ocsp_memo_put(m, req, 80, key, 40, serial, 16);
    }
    unsigned kept = 0;
    for (unsigned i = 0; i < 5000; i++) {
        memcpy(req, &i, sizeof(i));
        kept += (unsigned)ocsp_memo_get(m, req, 80, k2, &kl, s2, &sl);
    }
    assert_true(kept > 0 && kept <= 64 + 32);    /* 64, rounded up per shard */
    ocsp_memo_free(m);
}

static void test_get_and_304(void **state)
{
    struct fx *f = *state;
    const char *const ids[] = { "a1", NULL };
    OCSP_REQUEST *r = request(certa_ca_cert(f->ca), EVP_sha1(), -1, ids);
    unsigned char *der;
    int n = der_of(r, &der);
    char b64[1024], path[1100];
    EVP_EncodeBlock((unsigned char *)b64, der, n);
    snprintf(path, sizeof(path), "/ocsp/%s", b64);
    struct certa_http_response res, again;
    call(f, "GET", path, NULL, 0, NULL, &res);
    OCSP_BASICRESP *bs;
    assert_int_equal(resp_status(&res, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    assert_int_equal(status_of(bs, certa_ca_cert(f->ca), "a1", EVP_sha1(), NULL, NULL),
                     V_OCSP_CERTSTATUS_GOOD);
    OCSP_BASICRESP_free(bs);
    /* The same answer, from the cache, to the matching POST. */
    call(f, "POST", "/ocsp", der, (size_t)n, NULL, &again);
    assert_memory_equal(res.body.data, again.body.data, res.body.len);
    certa_buf_free(&again.body);
    /* base64url and without padding, as some clients send it. */
    for (char *c = path; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' && c > path + 5 ? '_' : *c;
    while (path[strlen(path) - 1] == '=')
        path[strlen(path) - 1] = '\0';
    call(f, "GET", path, NULL, 0, NULL, &again);
    assert_memory_equal(res.body.data, again.body.data, res.body.len);
    certa_buf_free(&again.body);
    snprintf(path, sizeof(path), "/ocsp/%s", b64);
    /* If-None-Match with the ETag: 304, no body; a stale ETag: 200. */
    char inm[128];
    snprintf(inm, sizeof(inm), "\"x\", %s", res.etag);
    call(f, "GET", path, NULL, 0, inm, &again);
    assert_int_equal(again.status, 304);
    assert_int_equal(again.body.len, 0);
    assert_string_equal(again.etag, res.etag);
    certa_buf_free(&again.body);
    call(f, "GET", path, NULL, 0, "\"stale\"", &again);
    assert_int_equal(again.status, 200);
    certa_buf_free(&again.body);
    certa_buf_free(&res.body);
    OPENSSL_free(der);
    OCSP_REQUEST_free(r);
}

static void test_delegated_signer(void **state)
{
    struct fx *f = *state;
    X509 *signer = NULL;
    assert_int_equal(certa_ca_ocsp_signer_profile_add(f->cadir), 1);
    assert_int_equal(certa_ca_ocsp_signer_profile_add(f->cadir), 0);
    certa_ca_free(f->ca);
    assert_int_equal(certa_ca_open(f->cadir, NULL, 0, &f->ca), 0);
    assert_int_equal(certa_ca_ocsp_signer_issue(f->ca, NULL, 30, &signer), 0);
    assert_true(X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN);
    assert_true(X509_get_ext_by_NID(signer, NID_id_pkix_OCSP_noCheck, -1) >= 0);
    /* The key file is private. */
    char path[600];
    snprintf(path, sizeof(path), "%s/ocsp.key", f->cadir);
    assert_int_equal(test_sh("test \"$(stat -c %%a '%s')\" = 600", path), 0);
    certa_service_ocsp.stop(f->svc);
    start_service(f);

    const char *const ids[] = { "a1", NULL };
    OCSP_REQUEST *r = request(certa_ca_cert(f->ca), EVP_sha256(), 16, ids);
    struct certa_http_response res;
    OCSP_BASICRESP *bs;
    post(f, r, &res);
    assert_int_equal(resp_status(&res, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    /* Signed by the delegate, whose certificate is in the response. */
    const STACK_OF(X509) *certs = OCSP_resp_get0_certs(bs);
    assert_int_equal(sk_X509_num(certs), 1);
    assert_int_equal(X509_cmp(sk_X509_value(certs, 0), signer), 0);
    X509 *found = NULL;
    assert_int_equal(OCSP_resp_get0_signer(bs, &found, NULL), 1);
    assert_int_equal(X509_cmp(found, signer), 0);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, certa_ca_cert(f->ca));
    assert_int_equal(OCSP_basic_verify(bs, NULL, store, 0), 1);
    X509_STORE_free(store);
    OCSP_BASICRESP_free(bs);
    OCSP_REQUEST_free(r);
    certa_buf_free(&res.body);
    X509_free(signer);
}

struct kv { const char *key, *value; };
static const char *setting_table(void *arg, const char *section, const char *key)
{
    assert_string_equal(section, "ocsp");
    for (const struct kv *p = arg; p->key; p++)
        if (strcmp(p->key, key) == 0)
            return p->value;
    return NULL;
}

/* A signer that is not this CA's is never used; signer = delegated then
 * refuses to start, and bad settings stop the service with a message. */
static void test_signer_checks_and_settings(void **state)
{
    struct fx *f = *state;
    void *svc = NULL;
    assert_int_equal(certa_ca_ocsp_signer_profile_add(f->otherdir), 1);
    certa_ca *other;
    assert_int_equal(certa_ca_open(f->otherdir, NULL, 0, &other), 0);
    assert_int_equal(certa_ca_ocsp_signer_issue(other, NULL, 10, NULL), 0);
    certa_ca_free(other);
    assert_int_equal(test_sh("cp '%s/ocsp.crt' '%s/ocsp.key' '%s/'", f->otherdir, f->otherdir,
                             f->cadir), 0);
    certa_service_ocsp.stop(f->svc);
    start_service(f);   /* auto: warns, the CA signs */
    const char *const ids[] = { "a1", NULL };
    OCSP_REQUEST *r = request(certa_ca_cert(f->ca), EVP_sha1(), 4, ids);
    struct certa_http_response res;
    OCSP_BASICRESP *bs;
    post(f, r, &res);
    assert_int_equal(resp_status(&res, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    assert_true(sk_X509_num(OCSP_resp_get0_certs(bs)) <= 0);   /* CA-signed: no certificates */
    verify(bs, certa_ca_cert(f->ca));
    OCSP_BASICRESP_free(bs);
    certa_buf_free(&res.body);
    OCSP_REQUEST_free(r);

    struct kv delegated[] = { { "signer", "delegated" }, { NULL, NULL } };
    struct certa_service_env env = { .ca = f->ca, .setting = setting_table, .setting_arg = delegated };
    assert_int_equal(certa_service_ocsp.start(&env, &svc), CERTA_EPOLICY);
    assert_non_null(strstr(certa_error_last(), "not issued by this CA"));
    struct kv bad[][2] = {
        { { "next_update_minutes", "0" }, { NULL, NULL } },
        { { "next_update_minutes", "60x" }, { NULL, NULL } },
        { { "refresh_margin_minutes", "60" }, { NULL, NULL } },
        { { "max_certids", "1000" }, { NULL, NULL } },
        { { "signer", "nobody" }, { NULL, NULL } },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        env.setting_arg = bad[i];
        assert_int_equal(certa_service_ocsp.start(&env, &svc), CERTA_EINVAL);
        assert_non_null(strstr(certa_error_last(), bad[i][0].key));
    }
}

static int64_t fake_now;
static int64_t fake_clock(void) { return fake_now; }

static int64_t this_update_of(const struct certa_http_response *res)
{
    OCSP_BASICRESP *bs;
    assert_int_equal(resp_status(res, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    OCSP_SINGLERESP *sr = OCSP_resp_get0(bs, 0);
    ASN1_GENERALIZEDTIME *rev, *thisupd, *nextupd;
    int reason;
    OCSP_single_get0_status(sr, &reason, &rev, &thisupd, &nextupd);
    struct tm tm;
    assert_true(ASN1_TIME_to_tm(thisupd, &tm));
    OCSP_BASICRESP_free(bs);
    return (int64_t)timegm(&tm);
}

/* Pre-signed answers are re-signed by tick() before nextUpdate (60 min,
 * 15 min margin by default), and never served once close to it. */
static void test_refresh_before_next_update(void **state)
{
    struct fx *f = *state;
    const char *const ids[] = { "a1", NULL };
    OCSP_REQUEST *r = request(certa_ca_cert(f->ca), EVP_sha1(), -1, ids);
    struct certa_http_response res;
    fake_now = (int64_t)time(NULL);
    ocsp_clock = fake_clock;
    int64_t t0 = fake_now;
    post(f, r, &res);
    assert_int_equal(this_update_of(&res), t0);
    assert_non_null(strstr(res.log_detail, "signed"));
    assert_int_equal(res.expires, t0 + 3600);
    certa_buf_free(&res.body);
    /* Before the margin: the tick leaves it, requests hit the cache. */
    fake_now = t0 + 3600 - 15 * 60 - 1;
    certa_service_ocsp.tick(f->svc, f->ca);
    post(f, r, &res);
    assert_non_null(strstr(res.log_detail, "cached"));
    assert_int_equal(this_update_of(&res), t0);
    certa_buf_free(&res.body);
    /* Inside the margin: the tick re-signs; requests still hit the cache. */
    fake_now = t0 + 3600 - 15 * 60;
    certa_service_ocsp.tick(f->svc, f->ca);
    post(f, r, &res);
    assert_non_null(strstr(res.log_detail, "cached"));
    assert_int_equal(this_update_of(&res), fake_now);
    assert_int_equal(res.expires, fake_now + 3600);
    certa_buf_free(&res.body);
    /* No tick for too long: past the stale point the request signs anew. */
    int64_t t1 = fake_now;
    fake_now = t1 + 3600 - 7 * 60;
    post(f, r, &res);
    assert_non_null(strstr(res.log_detail, "signed"));
    assert_int_equal(this_update_of(&res), fake_now);
    certa_buf_free(&res.body);
    OCSP_REQUEST_free(r);
}

static int restore_clock(void **state)
{
    ocsp_clock = saved_clock;
    return teardown(state);
}

/* Mutated requests (bit flips, truncations, insertions) always get a
 * well-formed OCSPResponse over HTTP 200, never a crash or a 500; ASan
 * builds check the memory side. */
static void test_mutations(void **state)
{
    struct fx *f = *state;
    const char *const ids[] = { "a1", "a2", NULL };
    OCSP_REQUEST *r = request(certa_ca_cert(f->ca), EVP_sha256(), 16, ids);
    unsigned char *der, buf[1024];
    int n = der_of(r, &der);
    assert_true(n + 8 <= (int)sizeof(buf));
    unsigned seed = 12345;
    for (int i = 0; i < 3000; i++) {
        size_t len = (size_t)n;
        memcpy(buf, der, len);
        int kind = i % 3;
        seed = seed * 1103515245u + 12345u;
        size_t at = (seed >> 8) % len;
        if (kind == 0)
            buf[at] ^= (unsigned char)(1u << ((seed >> 4) % 8));
        else if (kind == 1)
            len = at;
        else {
            memmove(buf + at + 1, buf + at, len - at);
            buf[at] = (unsigned char)(seed >> 16);
            len++;
        }
        struct certa_http_response res;
        call(f, "POST", "/ocsp", buf, len, NULL, &res);
        int st = resp_status(&res, NULL);
        assert_true(st >= OCSP_RESPONSE_STATUS_SUCCESSFUL && st <= OCSP_RESPONSE_STATUS_UNAUTHORIZED);
        certa_buf_free(&res.body);
    }
    OPENSSL_free(der);
    OCSP_REQUEST_free(r);
}

/* Every CA key type signs verifiable responses (EdDSA has no digest). */
static void test_key_types(void **state)
{
    struct fx *f = *state;
    const char *specs[] = { "rsa:2048", "ec:p384", "ed25519" };
    for (size_t i = 0; i < 3; i++) {
        char dir[600];
        certa_ca *ca;
        void *svc;
        snprintf(dir, sizeof(dir), "%s/k%zu", f->dir, i);
        struct certa_ca_init_params p = { .dir = dir, .subject = "CN=Key CA", .key_spec = specs[i],
                                          .path_len = -1 };
        assert_int_equal(certa_ca_init(&p), 0);
        assert_int_equal(certa_ca_open(dir, NULL, 0, &ca), 0);
        test_store_add_cert(certa_ca_store(ca), "77");
        struct certa_service_env env = { .ca = ca, .setting = setting_none };
        assert_int_equal(certa_service_ocsp.start(&env, &svc), 0);
        const char *const ids[] = { "77", NULL };
        OCSP_REQUEST *r = request(certa_ca_cert(ca), EVP_sha1(), 16, ids);
        unsigned char *der;
        int n = der_of(r, &der);
        struct certa_http_request req = { .method = "POST", .path = "/ocsp", .body = der,
                                          .body_len = (size_t)n };
        struct certa_http_response res = { .status = 500 };
        assert_int_equal(certa_service_ocsp.handle(svc, ca, &req, &res), 0);
        OCSP_BASICRESP *bs;
        assert_int_equal(resp_status(&res, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
        verify(bs, certa_ca_cert(ca));
        assert_int_equal(status_of(bs, certa_ca_cert(ca), "77", EVP_sha1(), NULL, NULL),
                         V_OCSP_CERTSTATUS_GOOD);
        OCSP_BASICRESP_free(bs);
        certa_buf_free(&res.body);
        OPENSSL_free(der);
        OCSP_REQUEST_free(r);
        certa_service_ocsp.stop(svc);
        certa_ca_free(ca);
    }
}

/* Workers answering concurrently (each with its own CA handle, as certad
 * runs them) while a revocation invalidates and tick() re-signs. */
struct worker {
    struct fx *f;
    certa_ca *ca;
    unsigned char *der[2];
    int len[2];
    int bad;
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 400; i++) {
        struct certa_http_request req = { .method = "POST", .path = "/ocsp",
                                          .body = w->der[i % 2], .body_len = (size_t)w->len[i % 2] };
        struct certa_http_response res = { .status = 500 };
        if (certa_service_ocsp.handle(w->f->svc, w->ca, &req, &res) != 0 || res.status != 200 ||
            strncmp(res.log_detail, "ocsp ", 5) != 0 || strstr(res.log_detail, "unknown") ||
            strstr(res.log_detail, "Error"))
            w->bad++;
        certa_buf_free(&res.body);
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct fx *f = *state;
    const char *const s1[] = { "a1", NULL }, *const s2[] = { "a2", NULL };
    OCSP_REQUEST *r1 = request(certa_ca_cert(f->ca), EVP_sha1(), -1, s1);
    OCSP_REQUEST *r2 = request(certa_ca_cert(f->ca), EVP_sha256(), -1, s2);
    struct worker w[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].f = f;
        assert_int_equal(certa_ca_open(f->cadir, NULL, CERTA_CA_READONLY, &w[i].ca), 0);
        w[i].len[0] = der_of(r1, &w[i].der[0]);
        w[i].len[1] = der_of(r2, &w[i].der[1]);
        assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
    }
    assert_int_equal(certa_ca_revoke(f->ca, "a2", CERTA_REASON_AFFILIATION_CHANGED, 0), 0);
    certa_service_ocsp.revoked(f->svc, "a2");
    certa_service_ocsp.tick(f->svc, f->ca);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].bad, 0);
        OPENSSL_free(w[i].der[0]);
        OPENSSL_free(w[i].der[1]);
        certa_ca_free(w[i].ca);
    }
    struct certa_http_response res;
    assert_int_equal(status_now(f, "a2", &res), V_OCSP_CERTSTATUS_REVOKED);
    certa_buf_free(&res.body);
    OCSP_REQUEST_free(r1);
    OCSP_REQUEST_free(r2);
}

/* The cache alone: bound, refresh and staleness times, generations. */
static void test_cache_unit(void **state)
{
    (void)state;
    struct ocsp_cache *c;
    assert_int_equal(ocsp_cache_new(64, &c), 0);
    struct ocsp_meta m = { .this_update = 100, .next_update = 1000, .refresh_at = 800,
                           .stale_at = 900, .etag = "\"e\"" };
    unsigned char key[8], serial[4], der[3] = { 1, 2, 3 };
    for (unsigned i = 0; i < 1000; i++) {
        memcpy(key, &i, sizeof(i));
        memcpy(serial, &i, sizeof(i));
        assert_int_equal(ocsp_cache_put(c, key, 8, serial, 4, der, 3, &m,
                                        ocsp_cache_gen(c, serial, 4)), 0);
    }
    assert_true(ocsp_cache_count(c) <= 128);   /* 64 rounded up per shard */
    unsigned i = 999;
    memcpy(key, &i, sizeof(i));
    memcpy(serial, &i, sizeof(i));
    certa_buf body = { 0 };
    struct ocsp_meta got;
    uint64_t gen;
    assert_int_equal(ocsp_cache_get(c, key, 8, serial, 4, 500, &body, &got, &gen), 1);
    assert_int_equal(body.len, 3);
    assert_int_equal(ocsp_cache_get(c, key, 8, serial, 4, 900, &body, &got, &gen), 0);
    unsigned char (*keys)[OCSP_CERTID_MAX] = calloc(200, OCSP_CERTID_MAX);
    size_t lens[200];
    assert_int_equal(ocsp_cache_due(c, 799, keys, lens, 200), 0);
    assert_int_equal(ocsp_cache_due(c, 800, keys, lens, 200), ocsp_cache_count(c));
    /* Invalidated between reading the generation and storing: not stored. */
    i = 5000;
    memcpy(key, &i, sizeof(i));
    memcpy(serial, &i, sizeof(i));
    gen = ocsp_cache_gen(c, serial, 4);
    ocsp_cache_invalidate(c, serial, 4);
    assert_int_equal(ocsp_cache_put(c, key, 8, serial, 4, der, 3, &m, gen), 0);
    assert_int_equal(ocsp_cache_get(c, key, 8, serial, 4, 500, &body, &got, &gen), 0);
    assert_int_equal(ocsp_cache_put(c, key, 8, serial, 4, der, 3, &m, gen), 0);
    assert_int_equal(ocsp_cache_get(c, key, 8, serial, 4, 500, &body, &got, &gen), 1);
    ocsp_cache_invalidate(c, serial, 4);
    assert_int_equal(ocsp_cache_get(c, key, 8, serial, 4, 500, &body, &got, &gen), 0);
    assert_int_equal(ocsp_cache_due(c, 0, keys, lens, 200), 1);   /* stale: to re-sign */
    free(keys);
    certa_buf_free(&body);
    ocsp_cache_free(c);
}

int main(void)
{
    saved_clock = ocsp_clock;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_revoked_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unauthorized_and_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_certids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memo_fast_path, setup, teardown),
        cmocka_unit_test(test_memo_unit),
        cmocka_unit_test_setup_teardown(test_get_and_304, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delegated_signer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_before_next_update, setup, restore_clock),
        cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signer_checks_and_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test(test_cache_unit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
