/* Unit tests for the CMP server module: OpenSSL's own CMP client (an
 * OSSL_CMP_CTX whose transfer callback calls the module's handle() in
 * process) enrolls with MAC and signature protection, polls, confirms,
 * revokes; every bad input is answered with a protected CMP message
 * carrying the expected PKIFailureInfo, and stores nothing. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/asn1t.h>
#include <openssl/cmp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "certa/ca.h"
#include "certa/cmp.h"
#include "certa/csr.h"
#include "certa/key.h"
#include "certa/log.h"
#include "proto/cmp_internal.h"
#include "testutil.h"

struct fixture {
    char *dir;
    char cadir[512];
    certa_ca *ca;
    void *state;
    char ref[CERTA_CMP_REF_MAX + 1], secret[CERTA_CMP_SECRET_MAX + 1];
};

static const char *settings(void *arg, const char *section, const char *key)
{
    (void)arg;
    if (strcmp(section, "cmp") != 0)
        return NULL;
    if (strcmp(key, "poll_interval") == 0)
        return "1";
    if (strcmp(key, "max_skew") == 0)
        return "120";
    return NULL;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = test_tmpdir("cmp");
    if (getenv("CMP_TEST_DEBUG"))
        certa_log_set_level(CERTA_LOG_DEBUG);
    snprintf(f->cadir, sizeof(f->cadir), "%s/ca", f->dir);
    test_ca_init(f->cadir, "CN=CMP Test CA");
    assert_int_equal(certa_ca_open(f->cadir, NULL, 0, &f->ca), 0);
    struct certa_service_env env = { .ca = f->ca, .setting = settings };
    assert_int_equal(certa_service_cmp.start(&env, &f->state), 0);
    struct certa_cmp_secret_params sp = { .uses = 1 };
    assert_int_equal(certa_cmp_secret_create(f->ca, &sp, f->ref, f->secret), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    certa_service_cmp.stop(f->state);
    certa_ca_free(f->ca);
    test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* ---- an in-process client ------------------------------------------------ */

enum mutation { MUT_NONE, MUT_OLD_TIME, MUT_PVNO, MUT_ITER, MUT_SALT, MUT_TAMPER_NONCE, MUT_SENDER_NONCE };

struct client {
    struct fixture *f;
    OSSL_CMP_CTX *c;
    const char *path;
    enum mutation mut;
    int msgs;                    /* requests sent */
    int approve_on_poll;         /* approve the pending request at the first pollReq */
    OSSL_CMP_MSG *last_rsp;      /* the last answer, for inspection */
    unsigned char txid[64];
    int txid_len;
    unsigned char nonce[64];     /* senderNonce of the last request */
    int nonce_len;
    const struct client *nonce_from; /* MUT_SENDER_NONCE: reuse that client's */
    char detail[192];            /* the server's log detail of the last answer */
    certa_ca *handles[2];        /* when set: alternate between two workers' handles */
};

static void mutate(struct client *cl, OSSL_CMP_MSG *m)
{
    switch (cl->mut) {
    case MUT_OLD_TIME:
        assert_non_null(ASN1_GENERALIZEDTIME_adj(cmp_hdr_field(m, "messageTime"), time(NULL), 0, -3600));
        assert_true(OSSL_CMP_MSG_update_transactionID(cl->c, m));
        break;
    case MUT_SENDER_NONCE:
        assert_true(ASN1_OCTET_STRING_set(cmp_hdr_field(m, "senderNonce"), cl->nonce_from->nonce,
                                          cl->nonce_from->nonce_len));
        assert_true(OSSL_CMP_MSG_update_transactionID(cl->c, m));
        break;
    case MUT_PVNO:
        assert_true(ASN1_INTEGER_set(cmp_hdr_field(m, "pvno"), 3));
        assert_true(OSSL_CMP_MSG_update_transactionID(cl->c, m));
        break;
    case MUT_ITER:
    case MUT_SALT: {
        /* After protection: the MAC no longer matches, but the parameters
         * are refused before any MAC is computed. */
        OSSL_CRMF_PBMPARAMETER *pbm = OSSL_CRMF_pbmp_new(NULL, cl->mut == MUT_SALT ? 4 : 16, NID_sha256,
                                                         500, NID_hmac_sha1);
        assert_non_null(pbm);
        if (cl->mut == MUT_ITER) {
            /* OpenSSL will not make such parameters: set the count in place. */
            const ASN1_ITEM *it = ASN1_ITEM_rptr(OSSL_CRMF_PBMPARAMETER);
            for (long i = 0; i < it->tcount; i++)
                if (strcmp(it->templates[i].field_name, "iterationCount") == 0)
                    assert_true(ASN1_INTEGER_set(*(ASN1_INTEGER **)((char *)pbm + it->templates[i].offset),
                                                 1000000));
        }
        ASN1_STRING *str = ASN1_item_pack(pbm, ASN1_ITEM_rptr(OSSL_CRMF_PBMPARAMETER), NULL);
        OSSL_CRMF_PBMPARAMETER_free(pbm);
        X509_ALGOR *alg = cmp_hdr_field(m, "protectionAlg");
        assert_true(X509_ALGOR_set0(alg, OBJ_nid2obj(NID_id_PasswordBasedMAC), V_ASN1_SEQUENCE, str));
        break;
    }
    default:
        break;
    }
}

static OSSL_CMP_MSG *transfer(OSSL_CMP_CTX *c, const OSSL_CMP_MSG *req)
{
    struct client *cl = OSSL_CMP_CTX_get_transfer_cb_arg(c);
    OSSL_CMP_MSG *m = OSSL_CMP_MSG_dup(req);
    unsigned char *der = NULL;
    assert_non_null(m);
    const ASN1_OCTET_STRING *tx = OSSL_CMP_HDR_get0_transactionID(OSSL_CMP_MSG_get0_header(m));
    if (tx != NULL && ASN1_STRING_length(tx) <= 64) {
        cl->txid_len = ASN1_STRING_length(tx);
        memcpy(cl->txid, ASN1_STRING_get0_data(tx), (size_t)cl->txid_len);
    }
    const ASN1_OCTET_STRING *sn = cmp_hdr_senderNonce(m);
    if (sn != NULL && ASN1_STRING_length(sn) <= 64) {
        cl->nonce_len = ASN1_STRING_length(sn);
        memcpy(cl->nonce, ASN1_STRING_get0_data(sn), (size_t)cl->nonce_len);
    }
    int type = OSSL_CMP_MSG_get_bodytype(m);
    if (cl->mut == MUT_TAMPER_NONCE && type == OSSL_CMP_PKIBODY_CERTCONF) {
        /* The server's memory of its last nonce changes: the client's
         * recipNonce no longer matches. */
        struct cmp_state *st = cl->f->state;
        pthread_mutex_lock(&st->lock);
        for (size_t i = 0; i < st->ntxns; i++)
            st->txns[i].nonce[0] ^= 1;
        pthread_mutex_unlock(&st->lock);
    } else if (cl->mut != MUT_TAMPER_NONCE) {
        mutate(cl, m);
    }
    if (cl->approve_on_poll && type == OSSL_CMP_PKIBODY_POLLREQ) {
        struct certa_issue_result r;
        char hex[129];
        certa_hex_encode(cl->txid, (size_t)cl->txid_len, hex);
        assert_int_equal(certa_ca_poll(cl->f->ca, "cmp", hex, &r), 0);
        assert_int_equal(r.decision, CERTA_DECISION_PENDING);
        if (cl->approve_on_poll == 2)
            assert_int_equal(certa_ca_reject(cl->f->ca, r.request_id, "not this device"), 0);
        else
            assert_int_equal(certa_ca_approve(cl->f->ca, r.request_id, NULL), 0);
        certa_issue_result_clear(&r);
        cl->approve_on_poll = 0;
    }
    int len = i2d_OSSL_CMP_MSG(m, &der);
    OSSL_CMP_MSG_free(m);
    assert_true(len > 0);
    if (getenv("CMP_TEST_DUMP")) {
        char fn[64];
        snprintf(fn, sizeof(fn), "/tmp/cmp-req-%d.der", type);
        FILE *fp = fopen(fn, "wb");
        if (fp) { fwrite(der, 1, (size_t)len, fp); fclose(fp); }
    }
    struct certa_http_request hr = { .method = "POST", .path = cl->path, .content_type = "application/pkixcmp",
                                     .body = der, .body_len = (size_t)len, .remote_addr = "127.0.0.1:1" };
    struct certa_http_response res = { .status = 500 };
    certa_ca *ca = cl->handles[0] ? cl->handles[cl->msgs % 2] : cl->f->ca;
    assert_int_equal(certa_service_cmp.handle(cl->f->state, ca, &hr, &res), 0);
    OPENSSL_free(der);
    if (getenv("CMP_TEST_DEBUG"))
        fprintf(stderr, "server: %d %s\n", res.status, res.log_detail);
    snprintf(cl->detail, sizeof(cl->detail), "%s", res.log_detail);
    cl->msgs++;
    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type, "application/pkixcmp");
    const unsigned char *p = res.body.data;
    OSSL_CMP_MSG *rsp = d2i_OSSL_CMP_MSG(NULL, &p, (long)res.body.len);
    certa_buf_free(&res.body);
    assert_non_null(rsp);
    /* Every answer, refusals included, is protected. */
    assert_non_null(cmp_hdr_protectionAlg(rsp));
    OSSL_CMP_MSG_free(cl->last_rsp);
    cl->last_rsp = OSSL_CMP_MSG_dup(rsp);
    return rsp;
}

static int quiet(const char *func, const char *file, int line, OSSL_CMP_severity level, const char *msg)
{
    (void)func, (void)file, (void)line, (void)level;
    if (getenv("CMP_TEST_DEBUG"))
        fprintf(stderr, "client: %s\n", msg);
    return 1;
}

static void client_init(struct client *cl, struct fixture *f, const char *path, const char *subject,
                        EVP_PKEY *newkey)
{
    memset(cl, 0, sizeof(*cl));
    cl->f = f;
    cl->path = path ? path : "/cmp";
    cl->c = OSSL_CMP_CTX_new(NULL, NULL);
    assert_non_null(cl->c);
    OSSL_CMP_CTX_set_log_cb(cl->c, quiet);
    assert_true(OSSL_CMP_CTX_set_transfer_cb(cl->c, transfer));
    assert_true(OSSL_CMP_CTX_set_transfer_cb_arg(cl->c, cl));
    /* Signed answers (refusals for unknown senders) verify with the CA. */
    assert_true(OSSL_CMP_CTX_set1_srvCert(cl->c, certa_ca_cert(f->ca)));
    assert_true(OSSL_CMP_CTX_set1_recipient(cl->c, X509_get_subject_name(certa_ca_cert(f->ca))));
    X509_NAME *n = NULL;
    assert_int_equal(certa_name_parse(subject ? subject : "CN=dev", &n), 0);
    assert_true(OSSL_CMP_CTX_set1_subjectName(cl->c, n));
    X509_NAME_free(n);
    if (newkey != NULL) {
        EVP_PKEY_up_ref(newkey);
        assert_true(OSSL_CMP_CTX_set0_newPkey(cl->c, 1, newkey));
    }
}

static void client_mac(struct client *cl, const char *ref, const char *secret)
{
    assert_true(OSSL_CMP_CTX_set1_referenceValue(cl->c, (const unsigned char *)ref, strlen(ref)));
    assert_true(OSSL_CMP_CTX_set1_secretValue(cl->c, (const unsigned char *)secret, (int)strlen(secret)));
}

static void client_sig(struct client *cl, X509 *cert, EVP_PKEY *key)
{
    assert_true(OSSL_CMP_CTX_set1_cert(cl->c, cert));
    assert_true(OSSL_CMP_CTX_set1_pkey(cl->c, key));
}

static void client_free(struct client *cl)
{
    OSSL_CMP_CTX_free(cl->c);
    OSSL_CMP_MSG_free(cl->last_rsp);
}

static void counts(struct fixture *f, struct certa_store_stats *s)
{
    assert_int_equal(certa_store_stats_get(certa_ca_store(f->ca), s), 0);
}

static void same_counts(const struct certa_store_stats *a, const struct certa_store_stats *b)
{
    assert_int_equal(a->certificates, b->certificates);
    assert_int_equal(a->requests, b->requests);
    assert_int_equal(a->secrets, b->secrets);
    assert_int_equal(a->revoked, b->revoked);
}

static EVP_PKEY *newkey(void)
{
    EVP_PKEY *k = NULL;
    assert_int_equal(certa_key_generate("ec:p256", &k), 0);
    return k;
}

/* Enrolls with MAC; returns the certificate (and its key in *key). */
static X509 *enroll_mac(struct fixture *f, EVP_PKEY **key)
{
    struct client cl;
    *key = newkey();
    client_init(&cl, f, NULL, "CN=dev", *key);
    client_mac(&cl, f->ref, f->secret);
    X509 *x = OSSL_CMP_exec_IR_ses(cl.c);
    assert_non_null(x);
    X509_up_ref(x);
    /* ir, then certConf (no implicitConfirm asked) */
    assert_int_equal(cl.msgs, 2);
    assert_int_equal(OSSL_CMP_MSG_get_bodytype(cl.last_rsp), OSSL_CMP_PKIBODY_PKICONF);
    client_free(&cl);
    return x;
}

/* A refused ir: the answer's PKIFailureInfo has bit, the store is as before. */
static void refused(struct fixture *f, struct client *cl, int type, int bit)
{
    struct certa_store_stats a, b;
    counts(f, &a);
    X509 *x = OSSL_CMP_exec_certreq(cl->c, type, NULL);
    assert_null(x);
    counts(f, &b);
    same_counts(&a, &b);
    assert_int_equal(OSSL_CMP_CTX_get_status(cl->c), OSSL_CMP_PKISTATUS_rejection);
    int fi = OSSL_CMP_CTX_get_failInfoCode(cl->c);
    if (!(fi & (1 << bit)))
        fail_msg("failInfo 0x%x lacks bit %d", fi, bit);
}

/* ---- the tests ------------------------------------------------------------ */

static void test_ir_mac(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *k;
    X509 *x = enroll_mac(f, &k);
    char *s = certa_name_text(X509_get_subject_name(x));
    assert_string_equal(s, "CN=dev");
    free(s);
    assert_int_equal(X509_check_private_key(x, k), 1);
    assert_int_equal(X509_check_issued(certa_ca_cert(f->ca), x), X509_V_OK);
    /* confirmed: nothing left open */
    assert_int_equal(((struct cmp_state *)f->state)->ntxns, 0);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void test_ir_implicit_confirm(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    EVP_PKEY *k = newkey();
    client_init(&cl, f, NULL, "CN=dev", k);
    client_mac(&cl, f->ref, f->secret);
    assert_true(OSSL_CMP_CTX_set_option(cl.c, OSSL_CMP_OPT_IMPLICIT_CONFIRM, 1));
    assert_non_null(OSSL_CMP_exec_IR_ses(cl.c));
    assert_int_equal(cl.msgs, 1);
    assert_int_equal(((struct cmp_state *)f->state)->ntxns, 0);
    client_free(&cl);
    EVP_PKEY_free(k);
}

static void test_wrong_mac(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    EVP_PKEY *k = newkey();
    client_init(&cl, f, NULL, "CN=dev", k);
    client_mac(&cl, f->ref, "not-the-secret");
    refused(f, &cl, OSSL_CMP_IR, OSSL_CMP_PKIFAILUREINFO_badMessageCheck);
    client_free(&cl);
    EVP_PKEY_free(k);
    /* the secret was not spent by the failed attempt */
    X509 *x = enroll_mac(f, &k);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void test_unknown_ref(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    EVP_PKEY *k = newkey();
    client_init(&cl, f, NULL, "CN=dev", k);
    client_mac(&cl, "0011223344556677", f->secret);
    refused(f, &cl, OSSL_CMP_IR, OSSL_CMP_PKIFAILUREINFO_badMessageCheck);
    client_free(&cl);
    EVP_PKEY_free(k);
}

static void test_reused_secret(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *k;
    X509 *x = enroll_mac(f, &k);
    X509_free(x);
    struct client cl;
    client_init(&cl, f, NULL, "CN=dev", k);
    client_mac(&cl, f->ref, f->secret);
    refused(f, &cl, OSSL_CMP_IR, OSSL_CMP_PKIFAILUREINFO_notAuthorized);
    client_free(&cl);
    EVP_PKEY_free(k);
}

static void test_reused_txid(void **state)
{
    struct fixture *f = *state;
    struct client a, b;
    EVP_PKEY *k = newkey();
    struct certa_cmp_secret_params sp = { .uses = 5 };
    char ref[CERTA_CMP_REF_MAX + 1], sec[CERTA_CMP_SECRET_MAX + 1];
    assert_int_equal(certa_cmp_secret_create(f->ca, &sp, ref, sec), 0);
    client_init(&a, f, NULL, "CN=dev", k);
    client_mac(&a, ref, sec);
    assert_non_null(OSSL_CMP_exec_IR_ses(a.c));
    client_init(&b, f, NULL, "CN=dev", k);
    client_mac(&b, ref, sec);
    ASN1_OCTET_STRING *t = ASN1_OCTET_STRING_new();
    assert_true(ASN1_OCTET_STRING_set(t, a.txid, a.txid_len));
    assert_true(OSSL_CMP_CTX_set1_transactionID(b.c, t));
    ASN1_OCTET_STRING_free(t);
    refused(f, &b, OSSL_CMP_IR, OSSL_CMP_PKIFAILUREINFO_transactionIdInUse);
    client_free(&a);
    client_free(&b);
    EVP_PKEY_free(k);
}

static void test_mutations(void **state)
{
    static const struct { enum mutation m; int bit; } cases[] = {
        { MUT_OLD_TIME, OSSL_CMP_PKIFAILUREINFO_badTime },
        { MUT_PVNO, OSSL_CMP_PKIFAILUREINFO_unsupportedVersion },
        { MUT_ITER, OSSL_CMP_PKIFAILUREINFO_badAlg },
        { MUT_SALT, OSSL_CMP_PKIFAILUREINFO_badAlg },
    };
    struct fixture *f = *state;
    EVP_PKEY *k = newkey();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct client cl;
        client_init(&cl, f, NULL, "CN=dev", k);
        client_mac(&cl, f->ref, f->secret);
        cl.mut = cases[i].m;
        refused(f, &cl, OSSL_CMP_IR, cases[i].bit);
        client_free(&cl);
    }
    EVP_PKEY_free(k);
    /* none of them spent the one-time secret */
    X509 *x = enroll_mac(f, &k);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void test_forbidden_template(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    EVP_PKEY *k = newkey();
    /* tls-server only grants CN=*.example.net */
    client_init(&cl, f, "/.well-known/cmp/p/tls-server", "CN=dev", k);
    client_mac(&cl, f->ref, f->secret);
    refused(f, &cl, OSSL_CMP_IR, OSSL_CMP_PKIFAILUREINFO_badCertTemplate);
    client_free(&cl);
    /* unknown profile */
    client_init(&cl, f, "/.well-known/cmp/p/nosuch", "CN=dev", k);
    client_mac(&cl, f->ref, f->secret);
    refused(f, &cl, OSSL_CMP_IR, OSSL_CMP_PKIFAILUREINFO_badRequest);
    client_free(&cl);
    EVP_PKEY_free(k);
}

static void test_bad_pop(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    EVP_PKEY *k = newkey();
    X509_REQ *csr = NULL;
    struct certa_csr_params p = { .subject = "CN=dev" };
    assert_int_equal(certa_csr_create(k, &p, &csr), 0);
    const ASN1_BIT_STRING *sig = NULL;
    X509_REQ_get0_signature(csr, &sig, NULL);
    ((ASN1_BIT_STRING *)sig)->data[10] ^= 0x55;
    client_init(&cl, f, NULL, "CN=dev", NULL);
    client_mac(&cl, f->ref, f->secret);
    assert_true(OSSL_CMP_CTX_set1_p10CSR(cl.c, csr));
    refused(f, &cl, OSSL_CMP_P10CR, OSSL_CMP_PKIFAILUREINFO_badPOP);
    client_free(&cl);
    X509_REQ_free(csr);
    EVP_PKEY_free(k);
}

static void test_garbage(void **state)
{
    struct fixture *f = *state;
    static const unsigned char junk[][12] = { "garbage", { 0x30, 0x82, 0x10, 0x00, 0x02 }, { 0x30, 0x00 } };
    struct certa_store_stats a, b;
    counts(f, &a);
    for (size_t i = 0; i < 3; i++) {
        struct certa_http_request hr = { .method = "POST", .path = "/cmp", .body = junk[i],
                                         .body_len = strlen((const char *)junk[i]) + (i == 1 ? 5 : 0) };
        if (i == 2)
            hr.body_len = 2;
        struct certa_http_response res = { .status = 500 };
        assert_int_equal(certa_service_cmp.handle(f->state, f->ca, &hr, &res), 0);
        assert_int_equal(res.status, 200);
        const unsigned char *p = res.body.data;
        OSSL_CMP_MSG *m = d2i_OSSL_CMP_MSG(NULL, &p, (long)res.body.len);
        assert_non_null(m);
        assert_int_equal(OSSL_CMP_MSG_get_bodytype(m), OSSL_CMP_PKIBODY_CP);
        /* signed by the CA */
        OSSL_CMP_CTX *c = OSSL_CMP_CTX_new(NULL, NULL);
        OSSL_CMP_CTX_set_log_cb(c, quiet);
        assert_true(OSSL_CMP_CTX_set1_srvCert(c, certa_ca_cert(f->ca)));
        assert_true(OSSL_CMP_validate_msg(c, m));
        OSSL_CMP_CTX_free(c);
        OSSL_CMP_MSG_free(m);
        certa_buf_free(&res.body);
        assert_non_null(strstr(res.log_detail, "badDataFormat"));
    }
    counts(f, &b);
    same_counts(&a, &b);
    /* GET is not CMP over HTTP */
    struct certa_http_request g = { .method = "GET", .path = "/cmp" };
    struct certa_http_response res = { .status = 500 };
    assert_int_equal(certa_service_cmp.handle(f->state, f->ca, &g, &res), 0);
    assert_int_equal(res.status, 405);
    certa_buf_free(&res.body);
}

/* certConf with a recipNonce that is not ours: refused; the certificate
 * stays unconfirmed and is revoked when the confirmation time runs out. */
static void test_wrong_nonce_and_unconfirmed(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    EVP_PKEY *k = newkey();
    client_init(&cl, f, NULL, "CN=dev", k);
    client_mac(&cl, f->ref, f->secret);
    cl.mut = MUT_TAMPER_NONCE;
    X509 *x = OSSL_CMP_exec_IR_ses(cl.c);
    assert_null(x); /* the certConf was answered with an error */
    assert_int_equal(OSSL_CMP_MSG_get_bodytype(cl.last_rsp), OSSL_CMP_PKIBODY_ERROR);
    struct cmp_state *st = f->state;
    assert_int_equal(st->ntxns, 1);
    char serial[CERTA_SERIAL_HEX_MAX];
    memcpy(serial, st->txns[0].serial, sizeof(serial));
    st->txns[0].deadline = 0;
    struct certa_cert_row row = { 0 };
    assert_int_equal(certa_store_cert_get(certa_ca_store(f->ca), serial, &row), 0);
    assert_int_equal(row.status, CERTA_CERT_VALID);
    certa_cert_row_clear(&row);
    certa_service_cmp.tick(f->state, f->ca);
    assert_int_equal(st->ntxns, 0);
    assert_int_equal(certa_store_cert_get(certa_ca_store(f->ca), serial, &row), 0);
    assert_int_equal(row.status, CERTA_CERT_REVOKED);
    certa_cert_row_clear(&row);
    client_free(&cl);
    EVP_PKEY_free(k);
}

/* cr, kur and rr signed with the device's current certificate. */
static void test_signature_cr_kur_rr(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *k1;
    X509 *c1 = enroll_mac(f, &k1);
    struct client cl;
    EVP_PKEY *k2 = newkey();
    client_init(&cl, f, NULL, "CN=dev", k2);
    client_sig(&cl, c1, k1);
    X509 *c2 = OSSL_CMP_exec_CR_ses(cl.c);
    assert_non_null(c2);
    X509_up_ref(c2);
    client_free(&cl);
    assert_int_equal(X509_check_private_key(c2, k2), 1);

    EVP_PKEY *k3 = newkey();
    client_init(&cl, f, NULL, NULL, k3);
    client_sig(&cl, c2, k2);
    assert_true(OSSL_CMP_CTX_set1_oldCert(cl.c, c2));
    X509 *c3 = OSSL_CMP_exec_KUR_ses(cl.c);
    assert_non_null(c3);
    X509_up_ref(c3);
    client_free(&cl);
    assert_int_equal(X509_check_private_key(c3, k3), 1);
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(c3), X509_get_subject_name(c2)), 0);

    /* kur signed by another device's certificate is refused */
    client_init(&cl, f, NULL, NULL, k3);
    client_sig(&cl, c1, k1);
    assert_true(OSSL_CMP_CTX_set1_oldCert(cl.c, c3));
    refused(f, &cl, OSSL_CMP_KUR, OSSL_CMP_PKIFAILUREINFO_badCertId);
    client_free(&cl);

    /* rr of c3 signed by c1: refused; signed by c3: revoked */
    client_init(&cl, f, NULL, NULL, NULL);
    client_sig(&cl, c1, k1);
    assert_true(OSSL_CMP_CTX_set1_oldCert(cl.c, c3));
    assert_int_equal(OSSL_CMP_exec_RR_ses(cl.c), 0);
    client_free(&cl);
    client_init(&cl, f, NULL, NULL, NULL);
    client_sig(&cl, c3, k3);
    assert_true(OSSL_CMP_CTX_set1_oldCert(cl.c, c3));
    assert_true(OSSL_CMP_CTX_set_option(cl.c, OSSL_CMP_OPT_REVOCATION_REASON, CERTA_REASON_KEY_COMPROMISE));
    assert_int_equal(OSSL_CMP_exec_RR_ses(cl.c), 1);
    client_free(&cl);
    char hex[CERTA_SERIAL_HEX_MAX];
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c3), NULL);
    char *h = BN_bn2hex(bn);
    assert_int_equal(certa_serial_normalize(h, hex, sizeof(hex)), 0);
    OPENSSL_free(h);
    BN_free(bn);
    struct certa_cert_row row = { 0 };
    assert_int_equal(certa_store_cert_get(certa_ca_store(f->ca), hex, &row), 0);
    assert_int_equal(row.status, CERTA_CERT_REVOKED);
    assert_int_equal(row.reason, CERTA_REASON_KEY_COMPROMISE);
    certa_cert_row_clear(&row);

    /* a revoked certificate protects nothing any more */
    EVP_PKEY *k4 = newkey();
    client_init(&cl, f, NULL, "CN=dev", k4);
    client_sig(&cl, c3, k3);
    refused(f, &cl, OSSL_CMP_CR, OSSL_CMP_PKIFAILUREINFO_certRevoked);
    client_free(&cl);

    X509_free(c1), X509_free(c2), X509_free(c3);
    EVP_PKEY_free(k1), EVP_PKEY_free(k2), EVP_PKEY_free(k3), EVP_PKEY_free(k4);
}

static void test_p10cr(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    EVP_PKEY *k = newkey();
    X509_REQ *csr = NULL;
    struct certa_csr_params p = { .subject = "CN=p10" };
    assert_int_equal(certa_csr_create(k, &p, &csr), 0);
    client_init(&cl, f, NULL, "CN=p10", NULL);
    client_mac(&cl, f->ref, f->secret);
    assert_true(OSSL_CMP_CTX_set1_p10CSR(cl.c, csr));
    X509 *x = OSSL_CMP_exec_P10CR_ses(cl.c);
    assert_non_null(x);
    assert_int_equal(X509_check_private_key(x, k), 1);
    client_free(&cl);
    X509_REQ_free(csr);
    EVP_PKEY_free(k);
}

static void test_manual_polling(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    EVP_PKEY *k = newkey();
    client_init(&cl, f, "/.well-known/cmp/p/manual", "CN=dev", k);
    client_mac(&cl, f->ref, f->secret);
    cl.approve_on_poll = 1;
    X509 *x = OSSL_CMP_exec_IR_ses(cl.c);
    assert_non_null(x);
    assert_int_equal(X509_check_private_key(x, k), 1);
    /* ir (waiting), pollReq (approved here; pollRep or ip), ..., certConf */
    assert_true(cl.msgs >= 3);
    assert_int_equal(OSSL_CMP_MSG_get_bodytype(cl.last_rsp), OSSL_CMP_PKIBODY_PKICONF);
    assert_int_equal(((struct cmp_state *)f->state)->ntxns, 0);
    client_free(&cl);
    EVP_PKEY_free(k);
}

static void test_manual_rejected(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    EVP_PKEY *k = newkey();
    client_init(&cl, f, "/.well-known/cmp/p/manual", "CN=dev", k);
    client_mac(&cl, f->ref, f->secret);
    cl.approve_on_poll = 2;
    assert_null(OSSL_CMP_exec_IR_ses(cl.c));
    assert_int_equal(OSSL_CMP_CTX_get_status(cl.c), OSSL_CMP_PKISTATUS_rejection);
    assert_non_null(strstr(cl.detail, "not this device"));
    struct certa_store_stats s;
    counts(f, &s);
    assert_int_equal(s.certificates, 0);
    assert_int_equal(((struct cmp_state *)f->state)->ntxns, 0);
    client_free(&cl);
    EVP_PKEY_free(k);
}

static void test_genm_ca_certs(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    client_init(&cl, f, NULL, NULL, NULL);
    client_mac(&cl, f->ref, f->secret);
    ASN1_OBJECT *type = OBJ_nid2obj(NID_id_it_caCerts);
    assert_true(OSSL_CMP_CTX_push0_genm_ITAV(cl.c, OSSL_CMP_ITAV_create(type, NULL)));
    STACK_OF(OSSL_CMP_ITAV) *items = OSSL_CMP_exec_GENM_ses(cl.c);
    assert_non_null(items);
    assert_int_equal(sk_OSSL_CMP_ITAV_num(items), 1);
    STACK_OF(X509) *certs = cmp_certs_decode(OSSL_CMP_ITAV_get0_value(sk_OSSL_CMP_ITAV_value(items, 0)));
    assert_non_null(certs);
    assert_int_equal(X509_cmp(sk_X509_value(certs, 0), certa_ca_cert(f->ca)), 0);
    sk_X509_pop_free(certs, X509_free);
    sk_OSSL_CMP_ITAV_pop_free(items, OSSL_CMP_ITAV_free);
    client_free(&cl);
}

static void test_genm_template(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    client_init(&cl, f, "/.well-known/cmp/p/ipsec", NULL, NULL);
    client_mac(&cl, f->ref, f->secret);
    assert_true(OSSL_CMP_CTX_push0_genm_ITAV(cl.c, OSSL_CMP_ITAV_create(OBJ_nid2obj(NID_id_it_certReqTemplate), NULL)));
    STACK_OF(OSSL_CMP_ITAV) *items = OSSL_CMP_exec_GENM_ses(cl.c);
    assert_non_null(items);
    ASN1_TYPE *v = OSSL_CMP_ITAV_get0_value(sk_OSSL_CMP_ITAV_value(items, 0));
    assert_non_null(v);
    assert_int_equal(v->type, V_ASN1_SEQUENCE);
    /* CertReqTemplateContent: step into the SEQUENCE, then the CertTemplate */
    const unsigned char *p = v->value.sequence->data;
    long len;
    int tag, xclass;
    assert_false(ASN1_get_object(&p, &len, &tag, &xclass, v->value.sequence->length) & 0x80);
    OSSL_CRMF_CERTTEMPLATE *t = d2i_OSSL_CRMF_CERTTEMPLATE(NULL, &p, len);
    assert_non_null(t);
    X509_EXTENSIONS *exts = OSSL_CRMF_CERTTEMPLATE_get0_extensions(t);
    EXTENDED_KEY_USAGE *eku = X509V3_get_d2i(exts, NID_ext_key_usage, NULL, NULL);
    assert_non_null(eku);
    /* the ipsec profile grants ike only */
    assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    OSSL_CRMF_CERTTEMPLATE_free(t);
    sk_OSSL_CMP_ITAV_pop_free(items, OSSL_CMP_ITAV_free);
    client_free(&cl);
}

static int reject_cert(OSSL_CMP_CTX *c, X509 *cert, int fail_info, const char **txt)
{
    (void)c, (void)cert, (void)fail_info;
    *txt = "not the certificate I wanted";
    return 1 << OSSL_CMP_PKIFAILUREINFO_badCertTemplate;
}

/* A certificate the client refuses in certConf is revoked at once. */
static void test_certconf_rejection_revokes(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    EVP_PKEY *k = newkey();
    struct certa_store_stats a, b;
    counts(f, &a);
    client_init(&cl, f, NULL, "CN=dev", k);
    client_mac(&cl, f->ref, f->secret);
    assert_true(OSSL_CMP_CTX_set_certConf_cb(cl.c, reject_cert));
    assert_null(OSSL_CMP_exec_IR_ses(cl.c));
    assert_int_equal(cl.msgs, 2);
    assert_int_equal(OSSL_CMP_MSG_get_bodytype(cl.last_rsp), OSSL_CMP_PKIBODY_PKICONF);
    counts(f, &b);
    assert_int_equal(b.certificates, a.certificates + 1);
    assert_int_equal(b.revoked, a.revoked + 1);
    assert_int_equal(((struct cmp_state *)f->state)->ntxns, 0);
    client_free(&cl);
    EVP_PKEY_free(k);
}

/* A senderNonce seen before is a replay, even in a new transaction. */
static void test_reused_sender_nonce(void **state)
{
    struct fixture *f = *state;
    struct client a, b;
    EVP_PKEY *k = newkey();
    struct certa_cmp_secret_params sp = { .uses = 5 };
    char ref[CERTA_CMP_REF_MAX + 1], sec[CERTA_CMP_SECRET_MAX + 1];
    assert_int_equal(certa_cmp_secret_create(f->ca, &sp, ref, sec), 0);
    client_init(&a, f, NULL, "CN=dev", k);
    client_mac(&a, ref, sec);
    assert_true(OSSL_CMP_CTX_set_option(a.c, OSSL_CMP_OPT_IMPLICIT_CONFIRM, 1));
    assert_non_null(OSSL_CMP_exec_IR_ses(a.c));
    client_init(&b, f, NULL, "CN=dev", k);
    client_mac(&b, ref, sec);
    b.mut = MUT_SENDER_NONCE;
    b.nonce_from = &a;
    struct certa_store_stats c0, c1;
    counts(f, &c0);
    /* The answer echoes the replayed nonce, which b's client does not
     * accept as its own: judge the server's answer itself. */
    assert_null(OSSL_CMP_exec_IR_ses(b.c));
    counts(f, &c1);
    same_counts(&c0, &c1);
    assert_int_equal(OSSL_CMP_MSG_get_bodytype(b.last_rsp), OSSL_CMP_PKIBODY_IP);
    assert_non_null(strstr(b.detail, "failInfo=badSenderNonce"));
    client_free(&a);
    client_free(&b);
    EVP_PKEY_free(k);
}

/* A secret bound to a subject pattern, and one that expired. */
static void test_secret_subject_and_expiry(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    EVP_PKEY *k = newkey();
    char ref[CERTA_CMP_REF_MAX + 1], sec[CERTA_CMP_SECRET_MAX + 1];
    struct certa_cmp_secret_params sp = { .uses = 2, .subject_pattern = "CN=router*" };
    assert_int_equal(certa_cmp_secret_create(f->ca, &sp, ref, sec), 0);
    client_init(&cl, f, NULL, "CN=switch1", k);
    client_mac(&cl, ref, sec);
    refused(f, &cl, OSSL_CMP_IR, OSSL_CMP_PKIFAILUREINFO_notAuthorized);
    client_free(&cl);
    client_init(&cl, f, NULL, "CN=router1", k);
    client_mac(&cl, ref, sec);
    assert_non_null(OSSL_CMP_exec_IR_ses(cl.c));
    client_free(&cl);

    struct certa_cmp_secret_params ep = { .uses = 1, .ttl = 1 };
    assert_int_equal(certa_cmp_secret_create(f->ca, &ep, ref, sec), 0);
    sleep(2);
    client_init(&cl, f, NULL, "CN=dev", k);
    client_mac(&cl, ref, sec);
    refused(f, &cl, OSSL_CMP_IR, OSSL_CMP_PKIFAILUREINFO_notAuthorized);
    client_free(&cl);
    EVP_PKEY_free(k);
}

/* Secrets are stored encrypted, never as given. */
static void test_secret_at_rest(void **state)
{
    struct fixture *f = *state;
    struct certa_secret_row row = { 0 };
    assert_int_equal(certa_store_secret_get(certa_ca_store(f->ca), CERTA_CMP_SECRET_KIND, f->ref, &row), 0);
    assert_true(row.blob_len > strlen(f->secret));
    assert_null(memmem(row.blob, row.blob_len, f->secret, strlen(f->secret)));
    assert_int_equal(row.uses_left, 1);
    certa_secret_row_clear(&row);
    unsigned char *plain = NULL;
    size_t len = 0;
    assert_int_equal(certa_cmp_secret_get(f->ca, f->ref, &plain, &len, NULL), 0);
    assert_int_equal(len, strlen(f->secret));
    assert_memory_equal(plain, f->secret, len);
    free(plain);
    char path[600];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/cmp-secret.key", f->cadir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

/* Several workers at once, each with its own CA handle, as certad runs
 * them; each transaction's certConf reaches the other worker. */
struct worker_arg {
    struct fixture *f;
    char ref[CERTA_CMP_REF_MAX + 1], sec[CERTA_CMP_SECRET_MAX + 1];
    int issued;
};

static void *worker(void *p)
{
    struct worker_arg *w = p;
    certa_ca *h[2];
    EVP_PKEY *k = newkey();
    assert_int_equal(certa_ca_open(w->f->cadir, NULL, 0, &h[0]), 0);
    assert_int_equal(certa_ca_open(w->f->cadir, NULL, 0, &h[1]), 0);
    for (int i = 0; i < 8; i++) {
        struct client cl;
        client_init(&cl, w->f, NULL, "CN=dev", k);
        client_mac(&cl, w->ref, w->sec);
        cl.handles[0] = h[0];
        cl.handles[1] = h[1];
        if (OSSL_CMP_exec_IR_ses(cl.c) != NULL && cl.msgs == 2 &&
            OSSL_CMP_MSG_get_bodytype(cl.last_rsp) == OSSL_CMP_PKIBODY_PKICONF)
            w->issued++;
        client_free(&cl);
    }
    certa_ca_free(h[0]);
    certa_ca_free(h[1]);
    EVP_PKEY_free(k);
    return NULL;
}

static void test_concurrent_workers(void **state)
{
    struct fixture *f = *state;
    struct worker_arg w[4];
    pthread_t t[4];
    struct certa_store_stats a, b;
    counts(f, &a);
    for (int i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].f = f;
        struct certa_cmp_secret_params sp = { .uses = 8 };
        assert_int_equal(certa_cmp_secret_create(f->ca, &sp, w[i].ref, w[i].sec), 0);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    counts(f, &b);
    for (int i = 0; i < 4; i++)
        assert_int_equal(w[i].issued, 8);
    assert_int_equal(b.certificates, a.certificates + 32);
    assert_int_equal(b.revoked, a.revoked);
    assert_int_equal(((struct cmp_state *)f->state)->ntxns, 0);
}


/* ---- root CA update (genm id-it-rootCaCert / id-it-rootCaKeyUpdate) ----- */

struct rollover_cfg {
    char next[600], cross[600], own[600];
};

static const char *rollover_settings(void *arg, const char *section, const char *key)
{
    const struct rollover_cfg *r = arg;
    if (strcmp(section, "ca") == 0) {
        if (strcmp(key, "next_ca_cert") == 0)
            return r->next[0] ? r->next : NULL;
        if (strcmp(key, "next_ca_cross_cert") == 0)
            return r->cross[0] ? r->cross : NULL;
        if (strcmp(key, "next_ca_old_with_new") == 0)
            return r->own[0] ? r->own : NULL;
        return NULL;
    }
    return settings(NULL, section, key);
}

/* Restarts the module with r; on success the new state replaces the old. */
static int restart_with(struct fixture *f, struct rollover_cfg *r)
{
    void *st = NULL;
    struct certa_service_env env = { .ca = f->ca, .setting = rollover_settings, .setting_arg = r };
    int rc = certa_service_cmp.start(&env, &st);
    if (rc == 0) {
        certa_service_cmp.stop(f->state);
        f->state = st;
    }
    return rc;
}

/* A second CA (the rollover root) in DIR/NAME; its certificate's path. */
static void make_ca(struct fixture *f, const char *name, const char *subject, const char *parent, char *path,
                    size_t len)
{
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/%s", f->dir, name);
    struct certa_ca_init_params p = { .dir = dir, .subject = subject, .path_len = -1, .parent_dir = parent };
    assert_int_equal(certa_ca_init(&p), 0);
    snprintf(path, len, "%s/ca.crt", dir);
}

static X509 *read_pem(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(x);
    return x;
}

static void write_pem(const char *path, X509 *x)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_true(PEM_write_X509(fp, x));
    fclose(fp);
}

/* The next root's key, certified by signer (subject name of issuer_cert):
 * newWithOld when signed by the current CA key. */
static X509 *link_cert(X509 *next, X509 *issuer_cert, EVP_PKEY *signer)
{
    X509 *x = X509_dup(next);
    assert_non_null(x);
    int i = X509_get_ext_by_NID(x, NID_authority_key_identifier, -1);
    if (i >= 0)
        X509_EXTENSION_free(X509_delete_ext(x, i));
    assert_true(X509_set_issuer_name(x, X509_get_subject_name(issuer_cert)));
    assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242));
    assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
    return x;
}

/* genm with one ITAV (oid, value cert or none); returns the genp's items. */
static STACK_OF(OSSL_CMP_ITAV) *genm_one(struct fixture *f, const char *oid, X509 *value)
{
    struct client cl;
    client_init(&cl, f, NULL, NULL, NULL);
    client_mac(&cl, f->ref, f->secret);
    ASN1_TYPE *v = NULL;
    if (value != NULL) {
        v = ASN1_TYPE_new();
        assert_non_null(v);
        ASN1_TYPE_set(v, V_ASN1_SEQUENCE, ASN1_item_pack(value, ASN1_ITEM_rptr(X509), NULL));
    }
    OSSL_CMP_ITAV *q = OSSL_CMP_ITAV_create(OBJ_txt2obj(oid, 1), v);
    assert_non_null(q);
    assert_true(OSSL_CMP_CTX_push0_genm_ITAV(cl.c, q));
    STACK_OF(OSSL_CMP_ITAV) *items = OSSL_CMP_exec_GENM_ses(cl.c);
    assert_non_null(items);
    assert_int_equal(cl.msgs, 1);
    client_free(&cl);
    return items;
}

/* The genp answers with id-it-rootCaKeyUpdate; its value (may be NULL). */
static const ASN1_TYPE *rootca_value(STACK_OF(OSSL_CMP_ITAV) *items)
{
    assert_int_equal(sk_OSSL_CMP_ITAV_num(items), 1);
    const OSSL_CMP_ITAV *a = sk_OSSL_CMP_ITAV_value(items, 0);
    assert_true(cmp_oid_is(OSSL_CMP_ITAV_get0_type(a), CMP_OID_ROOTCA_KEY_UPDATE));
    return OSSL_CMP_ITAV_get0_value(a);
}

static void test_genm_root_update(void **state)
{
    struct fixture *f = *state;
    struct rollover_cfg r = { "", "", "" };
    make_ca(f, "next", "CN=CMP Next CA", NULL, r.next, sizeof(r.next));
    assert_int_equal(restart_with(f, &r), 0);
    X509 *next = read_pem(r.next);
    /* asked the RFC 9483 way (id-it-rootCaCert with the current root), with
     * no value, and with id-it-rootCaKeyUpdate itself */
    const char *oids[] = { CMP_OID_ROOTCA_CERT, CMP_OID_ROOTCA_CERT, CMP_OID_ROOTCA_KEY_UPDATE };
    X509 *values[] = { certa_ca_cert(f->ca), NULL, NULL };
    for (int i = 0; i < 3; i++) {
        STACK_OF(OSSL_CMP_ITAV) *items = genm_one(f, oids[i], values[i]);
        X509 *nwn, *nwo, *own;
        assert_int_equal(cmp_rootca_decode(rootca_value(items), &nwn, &nwo, &own), 0);
        assert_int_equal(X509_cmp(nwn, next), 0);
        assert_null(nwo);
        assert_null(own);
        X509_free(nwn);
        sk_OSSL_CMP_ITAV_pop_free(items, OSSL_CMP_ITAV_free);
    }
    /* a root that is not this CA's gets no update */
    STACK_OF(OSSL_CMP_ITAV) *items = genm_one(f, CMP_OID_ROOTCA_CERT, next);
    assert_null(rootca_value(items));
    sk_OSSL_CMP_ITAV_pop_free(items, OSSL_CMP_ITAV_free);
    X509_free(next);
}

static void test_genm_root_update_cross(void **state)
{
    struct fixture *f = *state;
    struct rollover_cfg r = { "", "", "" };
    make_ca(f, "next", "CN=CMP Next CA", NULL, r.next, sizeof(r.next));
    X509 *next = read_pem(r.next);
    X509 *cross = link_cert(next, certa_ca_cert(f->ca), certa_ca_key(f->ca));
    snprintf(r.cross, sizeof(r.cross), "%s/cross.pem", f->dir);
    write_pem(r.cross, cross);
    assert_int_equal(restart_with(f, &r), 0);
    STACK_OF(OSSL_CMP_ITAV) *items = genm_one(f, CMP_OID_ROOTCA_CERT, certa_ca_cert(f->ca));
    X509 *nwn, *nwo, *own;
    assert_int_equal(cmp_rootca_decode(rootca_value(items), &nwn, &nwo, &own), 0);
    assert_int_equal(X509_cmp(nwn, next), 0);
    assert_non_null(nwo);
    assert_int_equal(X509_cmp(nwo, cross), 0);
    /* newWithOld: the new key, certified by the current CA's key */
    assert_int_equal(X509_verify(nwo, X509_get0_pubkey(certa_ca_cert(f->ca))), 1);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(nwo), X509_get0_pubkey(next)), 1);
    assert_null(own);
    X509_free(nwn);
    X509_free(nwo);
    sk_OSSL_CMP_ITAV_pop_free(items, OSSL_CMP_ITAV_free);
    /* oldWithNew [1] only when configured: the current key under the new one */
    certa_ca *nca = NULL;
    char ndir[600];
    snprintf(ndir, sizeof(ndir), "%s/next", f->dir);
    assert_int_equal(certa_ca_open(ndir, NULL, 0, &nca), 0);
    X509 *back = link_cert(certa_ca_cert(f->ca), next, certa_ca_key(nca));
    snprintf(r.own, sizeof(r.own), "%s/own.pem", f->dir);
    write_pem(r.own, back);
    assert_int_equal(restart_with(f, &r), 0);
    items = genm_one(f, CMP_OID_ROOTCA_CERT, NULL);
    assert_int_equal(cmp_rootca_decode(rootca_value(items), &nwn, &nwo, &own), 0);
    assert_int_equal(X509_cmp(nwo, cross), 0);
    assert_non_null(own);
    assert_int_equal(X509_cmp(own, back), 0);
    assert_int_equal(cmp_rootca_check(certa_ca_cert(f->ca), nwn, nwo, own), 0);
    X509_free(nwn);
    X509_free(nwo);
    X509_free(own);
    sk_OSSL_CMP_ITAV_pop_free(items, OSSL_CMP_ITAV_free);
    /* an oldWithNew signed by the current key is refused at start */
    X509 *bad = link_cert(certa_ca_cert(f->ca), next, certa_ca_key(f->ca));
    write_pem(r.own, bad);
    assert_true(restart_with(f, &r) < 0);
    assert_non_null(strstr(certa_error_last(), "oldWithNew"));
    certa_error_clear();
    X509_free(bad);
    X509_free(back);
    certa_ca_free(nca);
    X509_free(cross);
    X509_free(next);
}

static void test_genm_root_update_none(void **state)
{
    struct fixture *f = *state;
    /* no [ca] next_ca_cert: the infoValue is absent (RFC 9483 4.3.2) */
    STACK_OF(OSSL_CMP_ITAV) *items = genm_one(f, CMP_OID_ROOTCA_CERT, certa_ca_cert(f->ca));
    assert_null(rootca_value(items));
    sk_OSSL_CMP_ITAV_pop_free(items, OSSL_CMP_ITAV_free);
    items = genm_one(f, CMP_OID_ROOTCA_KEY_UPDATE, NULL);
    assert_null(rootca_value(items));
    sk_OSSL_CMP_ITAV_pop_free(items, OSSL_CMP_ITAV_free);
    /* an unknown infoType is echoed without a value, as before */
    items = genm_one(f, "1.3.6.1.5.5.7.4.99", NULL);
    assert_int_equal(sk_OSSL_CMP_ITAV_num(items), 1);
    char oid[64];
    OBJ_obj2txt(oid, sizeof(oid), OSSL_CMP_ITAV_get0_type(sk_OSSL_CMP_ITAV_value(items, 0)), 1);
    assert_string_equal(oid, "1.3.6.1.5.5.7.4.99");
    assert_null(OSSL_CMP_ITAV_get0_value(sk_OSSL_CMP_ITAV_value(items, 0)));
    sk_OSSL_CMP_ITAV_pop_free(items, OSSL_CMP_ITAV_free);
    /* caCerts still answered beside a root CA update */
    struct client cl;
    client_init(&cl, f, NULL, NULL, NULL);
    client_mac(&cl, f->ref, f->secret);
    assert_true(OSSL_CMP_CTX_push0_genm_ITAV(cl.c, OSSL_CMP_ITAV_create(OBJ_nid2obj(NID_id_it_caCerts), NULL)));
    assert_true(OSSL_CMP_CTX_push0_genm_ITAV(cl.c, OSSL_CMP_ITAV_create(OBJ_txt2obj(CMP_OID_ROOTCA_CERT, 1), NULL)));
    items = OSSL_CMP_exec_GENM_ses(cl.c);
    assert_non_null(items);
    assert_int_equal(sk_OSSL_CMP_ITAV_num(items), 2);
    STACK_OF(X509) *certs = cmp_certs_decode(OSSL_CMP_ITAV_get0_value(sk_OSSL_CMP_ITAV_value(items, 0)));
    assert_non_null(certs);
    assert_int_equal(X509_cmp(sk_X509_value(certs, 0), certa_ca_cert(f->ca)), 0);
    sk_X509_pop_free(certs, X509_free);
    assert_true(cmp_oid_is(OSSL_CMP_ITAV_get0_type(sk_OSSL_CMP_ITAV_value(items, 1)), CMP_OID_ROOTCA_KEY_UPDATE));
    sk_OSSL_CMP_ITAV_pop_free(items, OSSL_CMP_ITAV_free);
    client_free(&cl);
}

/* A bad rollover configuration stops the start with a message naming it. */
static void refused_start(struct fixture *f, struct rollover_cfg *r, const char *words)
{
    void *before = f->state;
    int rc = restart_with(f, r);
    assert_true(rc < 0);
    assert_ptr_equal(f->state, before);
    if (strstr(certa_error_last(), words) == NULL)
        fail_msg("error '%s' lacks '%s'", certa_error_last(), words);
    certa_error_clear();
}

static void test_bad_next_ca_refused(void **state)
{
    struct fixture *f = *state;
    struct rollover_cfg r = { "", "", "" };
    char next[600], sub[600], garbage[600];
    make_ca(f, "next", "CN=CMP Next CA", NULL, next, sizeof(next));
    /* not a certificate */
    snprintf(garbage, sizeof(garbage), "%s/garbage.pem", f->dir);
    FILE *fp = fopen(garbage, "w");
    assert_non_null(fp);
    fputs("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", fp);
    fclose(fp);
    snprintf(r.next, sizeof(r.next), "%s", garbage);
    refused_start(f, &r, "not a certificate");
    /* missing file */
    snprintf(r.next, sizeof(r.next), "%s/nosuch.pem", f->dir);
    refused_start(f, &r, "nosuch.pem");
    /* not self-signed: an intermediate of the current CA */
    make_ca(f, "sub", "CN=CMP Sub CA", f->cadir, sub, sizeof(sub));
    snprintf(r.next, sizeof(r.next), "%s", sub);
    refused_start(f, &r, "not self-signed");
    /* not a CA: an end-entity certificate */
    EVP_PKEY *k;
    X509 *ee = enroll_mac(f, &k);
    snprintf(r.next, sizeof(r.next), "%s/ee.pem", f->dir);
    write_pem(r.next, ee);
    refused_start(f, &r, "not a CA certificate");
    /* expired: the next root re-signed with a past notAfter */
    certa_ca *nca = NULL;
    char ndir[600];
    snprintf(ndir, sizeof(ndir), "%s/next", f->dir);
    assert_int_equal(certa_ca_open(ndir, NULL, 0, &nca), 0);
    X509 *old = X509_dup(certa_ca_cert(nca));
    assert_non_null(ASN1_TIME_adj(X509_getm_notBefore(old), time(NULL), -10, 0));
    assert_non_null(ASN1_TIME_adj(X509_getm_notAfter(old), time(NULL), -1, 0));
    assert_true(X509_sign(old, certa_ca_key(nca), EVP_sha256()) > 0);
    snprintf(r.next, sizeof(r.next), "%s/expired.pem", f->dir);
    write_pem(r.next, old);
    refused_start(f, &r, "expired");
    /* the current CA is no update */
    snprintf(r.next, sizeof(r.next), "%s/ca.crt", f->cadir);
    refused_start(f, &r, "current CA");
    /* a cross certificate not signed by the current CA key */
    snprintf(r.next, sizeof(r.next), "%s", next);
    X509 *bad = link_cert(certa_ca_cert(nca), certa_ca_cert(f->ca), certa_ca_key(nca));
    snprintf(r.cross, sizeof(r.cross), "%s/badcross.pem", f->dir);
    write_pem(r.cross, bad);
    refused_start(f, &r, "not signed by the expected CA key");
    /* ... nor one with another key */
    X509 *other = link_cert(certa_ca_cert(f->ca), certa_ca_cert(f->ca), certa_ca_key(f->ca));
    write_pem(r.cross, other);
    refused_start(f, &r, "expected public key");
    /* the good configuration still starts */
    r.cross[0] = 0;
    assert_int_equal(restart_with(f, &r), 0);
    X509_free(other);
    X509_free(bad);
    X509_free(old);
    certa_ca_free(nca);
    X509_free(ee);
    EVP_PKEY_free(k);
}

/* The client's checks of a RootCaKeyUpdateContent (cmp_rootca_check). */
static void test_rootca_client_checks(void **state)
{
    struct fixture *f = *state;
    char next_path[600], sub_path[600], ndir[600];
    make_ca(f, "next", "CN=CMP Next CA", NULL, next_path, sizeof(next_path));
    make_ca(f, "sub", "CN=CMP Sub CA", f->cadir, sub_path, sizeof(sub_path));
    snprintf(ndir, sizeof(ndir), "%s/next", f->dir);
    certa_ca *nca = NULL;
    assert_int_equal(certa_ca_open(ndir, NULL, 0, &nca), 0);
    X509 *cur = certa_ca_cert(f->ca), *next = certa_ca_cert(nca), *sub = read_pem(sub_path);
    X509 *nwo = link_cert(next, cur, certa_ca_key(f->ca));
    X509 *own = link_cert(cur, next, certa_ca_key(nca));
    assert_int_equal(cmp_rootca_check(cur, next, NULL, NULL), 0);
    assert_int_equal(cmp_rootca_check(cur, next, nwo, own), 0);
    /* not self-signed, the current CA itself */
    assert_true(cmp_rootca_check(cur, sub, NULL, NULL) < 0);
    assert_non_null(strstr(certa_error_last(), "not self-signed"));
    assert_true(cmp_rootca_check(cur, cur, NULL, NULL) < 0);
    /* newWithOld signed by the new key, or carrying another key */
    X509 *self_link = link_cert(next, cur, certa_ca_key(nca));
    assert_true(cmp_rootca_check(cur, next, self_link, NULL) < 0);
    assert_non_null(strstr(certa_error_last(), "newWithOld"));
    X509 *wrong_key = link_cert(sub, cur, certa_ca_key(f->ca));
    assert_true(cmp_rootca_check(cur, next, wrong_key, NULL) < 0);
    /* oldWithNew swapped for newWithOld */
    assert_true(cmp_rootca_check(cur, next, NULL, nwo) < 0);
    assert_non_null(strstr(certa_error_last(), "oldWithNew"));
    /* the encoding round-trips all three */
    ASN1_STRING *der = NULL;
    assert_int_equal(cmp_rootca_encode(next, nwo, own, &der), 0);
    ASN1_TYPE *t = ASN1_TYPE_new();
    ASN1_TYPE_set(t, V_ASN1_SEQUENCE, der);
    X509 *a, *b, *c;
    assert_int_equal(cmp_rootca_decode(t, &a, &b, &c), 0);
    assert_int_equal(X509_cmp(a, next), 0);
    assert_int_equal(X509_cmp(b, nwo), 0);
    assert_int_equal(X509_cmp(c, own), 0);
    X509_free(a);
    X509_free(b);
    X509_free(c);
    /* a SEQUENCE without a certificate does not decode */
    unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
    ASN1_STRING_set(t->value.sequence, junk, sizeof(junk));
    assert_true(cmp_rootca_decode(t, &a, &b, &c) < 0);
    ASN1_TYPE_free(t);
    certa_error_clear();
    X509_free(wrong_key);
    X509_free(self_link);
    X509_free(own);
    X509_free(nwo);
    X509_free(sub);
    certa_ca_free(nca);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ir_mac, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ir_implicit_confirm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_mac, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_ref, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reused_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reused_txid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forbidden_template, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_pop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_nonce_and_unconfirmed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature_cr_kur_rr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_p10cr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manual_polling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manual_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_genm_ca_certs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_genm_template, setup, teardown),
        cmocka_unit_test_setup_teardown(test_genm_root_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_genm_root_update_cross, setup, teardown),
        cmocka_unit_test_setup_teardown(test_genm_root_update_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_next_ca_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rootca_client_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_certconf_rejection_revokes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reused_sender_nonce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_subject_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_at_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_workers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
