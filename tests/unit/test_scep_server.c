/* Unit tests for the SCEP server module: handle() driven directly with
 * pkiMessages built here with OpenSSL's PKCS#7 (not with the module's own
 * encoder), for an RSA CA alone and an EC CA with its RSA RA certificate.
 * Every refusal checks the failInfo of a signed CertRep (or the 400) and
 * that no certificate or request row was stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include "certa/ca.h"
#include "certa/challenge.h"
#include "certa/csr.h"
#include "certa/key.h"
#include "certa/service.h"
#include "testutil.h"

extern const struct certa_service certa_service_scep;

struct ca_env {
    char *dir;
    certa_ca *ca;
    void *state;
    X509 *recipient;            /* the certificate GetCACert names for encryption */
    const char *profile;        /* [scep] profile override, or NULL */
    const char *legacy;
    const char *clock_skew;
};

struct world {
    char *tmp;
    struct ca_env rsa, ec, manual;
    EVP_PKEY *k1, *k2;          /* client keys (RSA) */
    X509 *self1, *self2;        /* self-signed certificates of them */
    EVP_PKEY *eckey;
    X509 *ecself;
    int nid_type, nid_status, nid_fail, nid_snonce, nid_rnonce, nid_txid;
};
static struct world W;

/* ---- helpers ------------------------------------------------------------ */

static int nid(const char *oid, const char *sn)
{
    int n = OBJ_txt2nid(oid);
    return n != NID_undef ? n : OBJ_create(oid, sn, sn);
}

static const char *env_setting(void *arg, const char *section, const char *key)
{
    struct ca_env *e = arg;
    if (strcmp(section, "scep") != 0)
        return NULL;
    if (strcmp(key, "profile") == 0)
        return e->profile;
    if (strcmp(key, "legacy") == 0)
        return e->legacy;
    if (strcmp(key, "clock_skew") == 0)
        return e->clock_skew;
    return NULL;
}

static int start(struct ca_env *e)
{
    struct certa_service_env env = { .ca = e->ca, .setting = env_setting, .setting_arg = e };
    return certa_service_scep.start(&env, &e->state);
}

static X509 *self_signed(EVP_PKEY *k, const char *cn)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_set_version(x, 2);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    X509_NAME_free(n);
    return x;
}

static void ca_env_open(struct ca_env *e, const char *name, const char *key_spec, const char *extra_conf)
{
    char sub[512], cn[64];
    snprintf(sub, sizeof(sub), "%s/%s", W.tmp, name);
    snprintf(cn, sizeof(cn), "CN=SCEP Test %s", name);
    struct certa_ca_init_params p = { .dir = sub, .subject = cn, .key_spec = key_spec, .path_len = -1 };
    assert_int_equal(certa_ca_init(&p), 0);
    if (extra_conf)
        assert_int_equal(test_sh("printf '%%s\\n' '%s' >> '%s/ca.conf'", extra_conf, sub), 0);
    e->dir = strdup(sub);
    assert_int_equal(certa_ca_open(sub, NULL, 0, &e->ca), 0);
}

static int64_t rows(struct ca_env *e, int requests)
{
    struct certa_store_stats st;
    assert_int_equal(certa_store_stats_get(certa_ca_store(e->ca), &st), 0);
    return requests ? st.requests : st.certificates;
}

static int call(struct ca_env *e, const char *method, const char *query, const unsigned char *body,
                size_t len, struct certa_http_response *res)
{
    struct certa_http_request req = {
        .method = method, .path = "/scep", .query = query, .body = body, .body_len = len,
        .remote_addr = "127.0.0.1:1",
    };
    memset(res, 0, sizeof(*res));
    res->status = 500;
    return certa_service_scep.handle(e->state, e->ca, &req, res);
}

static int add_str(PKCS7_SIGNER_INFO *si, int n, const char *v)
{
    ASN1_STRING *s = ASN1_STRING_type_new(V_ASN1_PRINTABLESTRING);
    ASN1_STRING_set(s, v, (int)strlen(v));
    return PKCS7_add_signed_attribute(si, n, V_ASN1_PRINTABLESTRING, s);
}

struct msg_opts {
    int type;
    const char *txid;
    const EVP_CIPHER *cipher;   /* NULL: AES-128-CBC */
    const EVP_MD *md;           /* NULL: SHA-256 */
    X509 *recipient;            /* NULL: the CA env's */
    X509 *signer;
    EVP_PKEY *key;
    int64_t signing_time_offset;    /* seconds from now; 0: OpenSSL's own (now) */
    int content_type_nid;       /* contentType attribute; 0: OpenSSL's own (data) */
};

/* A pkiMessage: inner enveloped for the recipient, signed by signer/key. */
static void build_msg(struct ca_env *e, const struct msg_opts *o, const unsigned char *inner, size_t len,
                      unsigned char **der, size_t *der_len)
{
    STACK_OF(X509) *rc = sk_X509_new_null();
    sk_X509_push(rc, o->recipient ? o->recipient : e->recipient);
    BIO *in = BIO_new_mem_buf(inner, (int)len);
    PKCS7 *env = PKCS7_encrypt(rc, in, o->cipher ? o->cipher : EVP_aes_128_cbc(), PKCS7_BINARY);
    assert_non_null(env);
    unsigned char *envder = NULL;
    int envlen = i2d_PKCS7(env, &envder);
    assert_true(envlen > 0);
    PKCS7 *p7 = PKCS7_sign(NULL, NULL, NULL, NULL, PKCS7_PARTIAL | PKCS7_BINARY);
    assert_non_null(p7);
    PKCS7_SIGNER_INFO *si = PKCS7_sign_add_signer(p7, o->signer, o->key, o->md ? o->md : EVP_sha256(),
                                                  PKCS7_NOSMIMECAP);
    assert_non_null(si);
    char type[8];
    snprintf(type, sizeof(type), "%d", o->type);
    unsigned char nonce[16];
    RAND_bytes(nonce, sizeof(nonce));
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, nonce, sizeof(nonce));
    assert_true(add_str(si, W.nid_type, type));
    assert_true(add_str(si, W.nid_txid, o->txid));
    assert_true(PKCS7_add_signed_attribute(si, W.nid_snonce, V_ASN1_OCTET_STRING, os));
    if (o->signing_time_offset != 0) {
        ASN1_TIME *t = X509_time_adj(NULL, (long)o->signing_time_offset, NULL);
        assert_true(PKCS7_add0_attrib_signing_time(si, t));
    }
    if (o->content_type_nid != 0)
        assert_true(PKCS7_add_signed_attribute(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                               OBJ_nid2obj(o->content_type_nid)));
    BIO *data = BIO_new_mem_buf(envder, envlen);
    assert_int_equal(PKCS7_final(p7, data, PKCS7_BINARY), 1);
    *der = NULL;
    int n = i2d_PKCS7(p7, der);
    assert_true(n > 0);
    *der_len = (size_t)n;
    BIO_free(data);
    BIO_free(in);
    OPENSSL_free(envder);
    PKCS7_free(env);
    PKCS7_free(p7);
    sk_X509_free(rc);
}

static void csr_der(EVP_PKEY *k, const char *subject, const char *challenge, unsigned char **der, size_t *len)
{
    X509_REQ *r = NULL;
    struct certa_csr_params p = { .subject = subject, .challenge = challenge };
    assert_int_equal(certa_csr_create(k, &p, &r), 0);
    *der = NULL;
    int n = i2d_X509_REQ(r, der);
    assert_true(n > 0);
    *len = (size_t)n;
    X509_REQ_free(r);
}

struct reply {
    int http;
    int status, fail;           /* -1 when absent */
    int cipher_nid;             /* of the reply envelope */
    X509 *cert;                 /* issued (SUCCESS with a certificate) */
    X509_CRL *crl;
};

static int attr_int(PKCS7_SIGNER_INFO *si, int n)
{
    ASN1_TYPE *t = PKCS7_get_signed_attribute(si, n);
    if (t == NULL || t->type != V_ASN1_PRINTABLESTRING)
        return -1;
    return atoi((const char *)ASN1_STRING_get0_data(t->value.asn1_string));
}

/* Checks the CertRep: signed by the RA/CA the env names, transactionID and
 * recipientNonce echoed; decrypts a SUCCESS with the requester's key. */
static void parse_reply(struct ca_env *e, const struct certa_http_response *res, const char *txid,
                        X509 *me, EVP_PKEY *mykey, struct reply *out)
{
    memset(out, 0, sizeof(*out));
    out->http = res->status;
    out->status = out->fail = -1;
    if (res->status != 200)
        return;
    assert_string_equal(res->content_type, "application/x-pki-message");
    const unsigned char *p = res->body.data;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)res->body.len);
    assert_non_null(p7);
    BIO *content = BIO_new(BIO_s_mem());
    STACK_OF(X509) *certs = sk_X509_new_null();
    sk_X509_push(certs, e->recipient);
    /* The signature must verify with the certificate GetCACert gave. */
    int detached = PKCS7_get_detached(p7) || PKCS7_get_octet_string(p7->d.sign->contents) == NULL;
    if (detached) {
        BIO *empty = BIO_new(BIO_s_mem());
        assert_int_equal(PKCS7_verify(p7, certs, NULL, empty, NULL, PKCS7_NOVERIFY | PKCS7_NOINTERN | PKCS7_BINARY), 1);
        BIO_free(empty);
    } else {
        assert_int_equal(PKCS7_verify(p7, certs, NULL, NULL, content, PKCS7_NOVERIFY | PKCS7_NOINTERN | PKCS7_BINARY), 1);
    }
    PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7), 0);
    assert_int_equal(attr_int(si, W.nid_type), 3);
    ASN1_TYPE *t = PKCS7_get_signed_attribute(si, W.nid_txid);
    assert_non_null(t);
    assert_string_equal((const char *)ASN1_STRING_get0_data(t->value.asn1_string), txid);
    assert_non_null(PKCS7_get_signed_attribute(si, W.nid_rnonce));
    out->status = attr_int(si, W.nid_status);
    out->fail = attr_int(si, W.nid_fail);
    if (out->status == 0) {
        char *d;
        long n = BIO_get_mem_data(content, &d);
        const unsigned char *q = (const unsigned char *)d;
        PKCS7 *env = d2i_PKCS7(NULL, &q, n);
        assert_non_null(env);
        out->cipher_nid = OBJ_obj2nid(env->d.enveloped->enc_data->algorithm->algorithm);
        BIO *plain = BIO_new(BIO_s_mem());
        assert_int_equal(PKCS7_decrypt(env, mykey, me, plain, PKCS7_BINARY), 1);
        n = BIO_get_mem_data(plain, &d);
        q = (const unsigned char *)d;
        PKCS7 *deg = d2i_PKCS7(NULL, &q, n);
        assert_non_null(deg);
        STACK_OF(X509) *dc = deg->d.sign->cert;
        if (sk_X509_num(dc) > 0)
            out->cert = X509_dup(sk_X509_value(dc, 0));
        if (sk_X509_CRL_num(deg->d.sign->crl) > 0)
            out->crl = X509_CRL_dup(sk_X509_CRL_value(deg->d.sign->crl, 0));
        PKCS7_free(deg);
        BIO_free(plain);
        PKCS7_free(env);
    }
    sk_X509_free(certs);
    BIO_free(content);
    PKCS7_free(p7);
}

static void reply_clear(struct reply *r)
{
    X509_free(r->cert);
    X509_CRL_free(r->crl);
    memset(r, 0, sizeof(*r));
}

/* One PKIOperation over POST, the reply parsed. */
static void pkiop(struct ca_env *e, const struct msg_opts *o, const unsigned char *inner, size_t len,
                  struct reply *out)
{
    unsigned char *der;
    size_t dlen;
    struct certa_http_response res;
    build_msg(e, o, inner, len, &der, &dlen);
    assert_int_equal(call(e, "POST", "operation=PKIOperation", der, dlen, &res), 0);
    parse_reply(e, &res, o->txid, o->signer, o->key, out);
    assert_true(res.log_detail[0] != '\0');
    certa_buf_free(&res.body);
    OPENSSL_free(der);
}

static char *challenge(struct ca_env *e, const char *pattern, int uses)
{
    static char pw[CERTA_CHALLENGE_LEN + 1];
    char ref[CERTA_CHALLENGE_REF_LEN + 1];
    struct certa_challenge_params p = { .subject_pattern = pattern, .uses = uses };
    assert_int_equal(certa_challenge_create(certa_ca_store(e->ca), &p, pw, ref), 0);
    return pw;
}

/* PKCSReq for subject with challenge pw from key k (self-signed cert self). */
static void enroll(struct ca_env *e, EVP_PKEY *k, X509 *self, const char *txid, const char *subject,
                   const char *pw, const EVP_CIPHER *cipher, struct reply *out)
{
    unsigned char *csr;
    size_t len;
    csr_der(k, subject, pw, &csr, &len);
    struct msg_opts o = { .type = 19, .txid = txid, .cipher = cipher, .signer = self, .key = k };
    pkiop(e, &o, csr, len, out);
    OPENSSL_free(csr);
}

static void assert_issued_by(struct ca_env *e, X509 *x)
{
    assert_non_null(x);
    assert_int_equal(X509_verify(x, X509_get0_pubkey(certa_ca_cert(e->ca))), 1);
}

/* ---- setup -------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    W.tmp = test_tmpdir("scep");
    W.nid_type = nid("2.16.840.1.113733.1.9.2", "scepMessageType");
    W.nid_status = nid("2.16.840.1.113733.1.9.3", "scepPkiStatus");
    W.nid_fail = nid("2.16.840.1.113733.1.9.4", "scepFailInfo");
    W.nid_snonce = nid("2.16.840.1.113733.1.9.5", "scepSenderNonce");
    W.nid_rnonce = nid("2.16.840.1.113733.1.9.6", "scepRecipientNonce");
    W.nid_txid = nid("2.16.840.1.113733.1.9.7", "scepTransactionID");
    assert_int_equal(certa_key_generate("rsa:2048", &W.k1), 0);
    assert_int_equal(certa_key_generate("rsa:2048", &W.k2), 0);
    assert_int_equal(certa_key_generate("ec:p256", &W.eckey), 0);
    W.self1 = self_signed(W.k1, "device-one");
    W.self2 = self_signed(W.k2, "device-two");
    W.ecself = self_signed(W.eckey, "device-ec");

    ca_env_open(&W.rsa, "rsa", "rsa:2048", NULL);
    assert_int_equal(start(&W.rsa), 0);
    W.rsa.recipient = certa_ca_cert(W.rsa.ca);

    ca_env_open(&W.ec, "ec", "ec:p256", NULL);
    assert_int_equal(start(&W.ec), 0);
    char path[600];
    snprintf(path, sizeof(path), "%s/scep-ra.crt", W.ec.dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    W.ec.recipient = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(W.ec.recipient);

    W.manual.profile = "manual";
    ca_env_open(&W.manual, "manual", "rsa:2048", NULL);
    assert_int_equal(start(&W.manual), 0);
    W.manual.recipient = certa_ca_cert(W.manual.ca);
    return 0;
}

static void ca_env_close(struct ca_env *e)
{
    certa_service_scep.stop(e->state);
    if (e->recipient && e->ca && e->recipient != certa_ca_cert(e->ca))
        X509_free(e->recipient);
    certa_ca_free(e->ca);
    free(e->dir);
}

static int group_teardown(void **state)
{
    (void)state;
    ca_env_close(&W.rsa);
    ca_env_close(&W.ec);
    ca_env_close(&W.manual);
    EVP_PKEY_free(W.k1);
    EVP_PKEY_free(W.k2);
    EVP_PKEY_free(W.eckey);
    X509_free(W.self1);
    X509_free(W.self2);
    X509_free(W.ecself);
    test_tmpdir_remove(W.tmp);
    return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void test_caps(void **state)
{
    (void)state;
    struct certa_http_response res;
    assert_int_equal(call(&W.rsa, "GET", "operation=GetCACaps", NULL, 0, &res), 0);
    assert_int_equal(res.status, 200);
    char *caps = strndup((char *)res.body.data, res.body.len);
    const char *want[] = { "POSTPKIOperation\n", "SHA-256\n", "SHA-512\n", "AES\n",
                           "SCEPStandard\n", "Renewal\n" };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_non_null(strstr(caps, want[i]));
    assert_null(strstr(caps, "SHA-1"));
    assert_null(strstr(caps, "DES3"));
    assert_null(strstr(caps, "GetNextCACert"));
    free(caps);
    certa_buf_free(&res.body);

    /* legacy = yes advertises SHA-1 and DES3 */
    struct ca_env leg = { .ca = W.rsa.ca, .legacy = "yes" };
    assert_int_equal(start(&leg), 0);
    assert_int_equal(call(&leg, "GET", "operation=GetCACaps", NULL, 0, &res), 0);
    caps = strndup((char *)res.body.data, res.body.len);
    assert_non_null(strstr(caps, "SHA-1\n"));
    assert_non_null(strstr(caps, "DES3\n"));
    free(caps);
    certa_buf_free(&res.body);
    certa_service_scep.stop(leg.state);

    /* unknown operation and no operation: 400 */
    assert_int_equal(call(&W.rsa, "GET", "operation=Bogus", NULL, 0, &res), 0);
    assert_int_equal(res.status, 400);
    certa_buf_free(&res.body);
    assert_int_equal(call(&W.rsa, "GET", NULL, NULL, 0, &res), 0);
    assert_int_equal(res.status, 400);
    certa_buf_free(&res.body);
}

static void test_cacert_rsa(void **state)
{
    (void)state;
    struct certa_http_response res;
    assert_int_equal(call(&W.rsa, "GET", "operation=GetCACert&message=x", NULL, 0, &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type, "application/x-x509-ca-cert");
    const unsigned char *p = res.body.data;
    X509 *x = d2i_X509(NULL, &p, (long)res.body.len);
    assert_non_null(x);
    assert_int_equal(X509_cmp(x, certa_ca_cert(W.rsa.ca)), 0);
    X509_free(x);
    certa_buf_free(&res.body);
}

static void test_cacert_ec_ra(void **state)
{
    (void)state;
    struct certa_http_response res;
    assert_int_equal(call(&W.ec, "GET", "operation=GetCACert", NULL, 0, &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type, "application/x-x509-ca-ra-cert");
    const unsigned char *p = res.body.data;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)res.body.len);
    assert_non_null(p7);
    STACK_OF(X509) *certs = p7->d.sign->cert;
    assert_int_equal(sk_X509_num(certs), 2);
    X509 *ra = NULL;
    for (int i = 0; i < 2; i++)
        if (X509_cmp(sk_X509_value(certs, i), certa_ca_cert(W.ec.ca)) != 0)
            ra = sk_X509_value(certs, i);
    assert_non_null(ra);
    assert_int_equal(X509_cmp(ra, W.ec.recipient), 0);
    /* RSA, keyEncipherment + digitalSignature, not a CA, signed by the CA */
    assert_true(EVP_PKEY_is_a(X509_get0_pubkey(ra), "RSA"));
    uint32_t ku = X509_get_key_usage(ra);
    assert_true(ku & KU_KEY_ENCIPHERMENT);
    assert_true(ku & KU_DIGITAL_SIGNATURE);
    assert_false(ku & KU_KEY_CERT_SIGN);
    assert_int_equal(X509_check_ca(ra), 0);
    assert_int_equal(X509_verify(ra, X509_get0_pubkey(certa_ca_cert(W.ec.ca))), 1);
    PKCS7_free(p7);
    certa_buf_free(&res.body);
    /* key 0600; recorded in the store; reused by a restart */
    char path[600];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/scep-ra.key", W.ec.dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    int64_t certs_before = rows(&W.ec, 0);
    assert_true(certs_before >= 1);
    struct ca_env again = { .ca = W.ec.ca };
    assert_int_equal(start(&again), 0);
    assert_int_equal(call(&again, "GET", "operation=GetCACert", NULL, 0, &res), 0);
    p = res.body.data;
    p7 = d2i_PKCS7(NULL, &p, (long)res.body.len);
    int found = 0;
    for (int i = 0; i < sk_X509_num(p7->d.sign->cert); i++)
        found |= X509_cmp(sk_X509_value(p7->d.sign->cert, i), W.ec.recipient) == 0;
    assert_true(found);
    assert_int_equal(rows(&W.ec, 0), certs_before);
    PKCS7_free(p7);
    certa_buf_free(&res.body);
    certa_service_scep.stop(again.state);
}

static void test_enroll_rsa_ca(void **state)
{
    (void)state;
    struct reply r;
    int64_t c0 = rows(&W.rsa, 0), q0 = rows(&W.rsa, 1);
    enroll(&W.rsa, W.k1, W.self1, "tx-rsa-1", "CN=device-one", challenge(&W.rsa, NULL, 0), NULL, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.cipher_nid, NID_aes_128_cbc);
    assert_issued_by(&W.rsa, r.cert);
    /* The certificate and its request row come from one commit: both. */
    assert_int_equal(rows(&W.rsa, 0), c0 + 1);
    assert_int_equal(rows(&W.rsa, 1), q0 + 1);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "test \"$(sqlite3 '%s/ca.db' \"SELECT count(*) FROM requests r JOIN certificates c ON c.request_id = r.id"
             " WHERE r.transaction_id = 'tx-rsa-1' AND r.status = 1 AND r.serial = c.serial\")\" = 1", W.rsa.dir);
    assert_int_equal(test_sh("%s", sql), 0);
    reply_clear(&r);
}

/* The signer certificate's key need not be the request's (RFC 8894 lets a
 * renewal be signed with the current certificate; some clients sign with a
 * key of their own): the certificate carries the request's key, the reply is
 * enveloped for the signer, and the request's own signature is checked. */
static void expect_fail(struct ca_env *e, struct reply *r, int fail, int64_t c0, int64_t q0);

static void test_csr_key_differs(void **state)
{
    (void)state;
    struct reply r;
    unsigned char *csr;
    size_t len;
    int64_t c0 = rows(&W.rsa, 0), q0 = rows(&W.rsa, 1);
    csr_der(W.k1, "CN=device-one", challenge(&W.rsa, NULL, 0), &csr, &len);
    struct msg_opts o = { .type = 19, .txid = "tx-other-signer", .signer = W.self2, .key = W.k2 };
    pkiop(&W.rsa, &o, csr, len, &r);
    assert_int_equal(r.status, 0);
    assert_issued_by(&W.rsa, r.cert);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(r.cert), W.k1), 1);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(r.cert), W.k2), 0);
    assert_int_equal(rows(&W.rsa, 0), c0 + 1);
    assert_int_equal(rows(&W.rsa, 1), q0 + 1);
    reply_clear(&r);
    OPENSSL_free(csr);

    /* A request whose own signature is broken: badMessageCheck, nothing
     * stored, whether its key is the signer's or not. */
    for (int same = 0; same < 2; same++) {
        csr_der(W.k1, "CN=device-one", challenge(&W.rsa, NULL, 0), &csr, &len);
        csr[len - 1] ^= 0x01;
        struct msg_opts b = { .type = 19, .txid = same ? "tx-bad-csr-same" : "tx-bad-csr-other",
                              .signer = same ? W.self1 : W.self2, .key = same ? W.k1 : W.k2 };
        pkiop(&W.rsa, &b, csr, len, &r);
        expect_fail(&W.rsa, &r, 1, c0 + 1, q0 + 1);
        OPENSSL_free(csr);
    }
}

static void expect_fail(struct ca_env *e, struct reply *r, int fail, int64_t c0, int64_t q0);

static void test_enroll_ec_ra_des3_aes256(void **state)
{
    (void)state;
    struct reply r;
    /* DES3 is for old devices: badAlg, nothing stored, unless legacy = yes. */
    int64_t c0 = rows(&W.ec, 0), q0 = rows(&W.ec, 1);
    enroll(&W.ec, W.k1, W.self1, "tx-ec-des3", "CN=device-one", challenge(&W.ec, "device-*", 0),
           EVP_des_ede3_cbc(), &r);
    expect_fail(&W.ec, &r, 0, c0, q0);
    struct ca_env legacy = { .ca = W.ec.ca, .legacy = "yes", .recipient = W.ec.recipient };
    assert_int_equal(start(&legacy), 0);
    enroll(&legacy, W.k1, W.self1, "tx-ec-1", "CN=device-one", challenge(&W.ec, "device-*", 0),
           EVP_des_ede3_cbc(), &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.cipher_nid, NID_des_ede3_cbc);   /* the cipher the client used */
    assert_issued_by(&W.ec, r.cert);
    reply_clear(&r);
    certa_service_scep.stop(legacy.state);
    enroll(&W.ec, W.k2, W.self2, "tx-ec-2", "CN=device-two", challenge(&W.ec, NULL, 0),
           EVP_aes_256_cbc(), &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.cipher_nid, NID_aes_256_cbc);
    assert_issued_by(&W.ec, r.cert);
    reply_clear(&r);
}

/* A refusal: FAILURE with this failInfo and no row stored. */
static void expect_fail(struct ca_env *e, struct reply *r, int fail, int64_t c0, int64_t q0)
{
    assert_int_equal(r->http, 200);
    assert_int_equal(r->status, 2);
    assert_int_equal(r->fail, fail);
    assert_int_equal(rows(e, 0), c0);
    assert_int_equal(rows(e, 1), q0);
    reply_clear(r);
}

static void test_challenge_refusals(void **state)
{
    (void)state;
    struct reply r;
    int64_t c0 = rows(&W.rsa, 0), q0 = rows(&W.rsa, 1);
    /* none */
    enroll(&W.rsa, W.k1, W.self1, "tx-none", "CN=device-one", NULL, NULL, &r);
    expect_fail(&W.rsa, &r, 2, c0, q0);
    /* wrong: right REF, wrong secret; and an unknown REF */
    char *pw = challenge(&W.rsa, NULL, 0);
    char wrong[CERTA_CHALLENGE_LEN + 1];
    snprintf(wrong, sizeof(wrong), "%s", pw);
    wrong[CERTA_CHALLENGE_LEN - 1] = wrong[CERTA_CHALLENGE_LEN - 1] == 'a' ? 'b' : 'a';
    enroll(&W.rsa, W.k1, W.self1, "tx-wrong", "CN=device-one", wrong, NULL, &r);
    expect_fail(&W.rsa, &r, 2, c0, q0);
    enroll(&W.rsa, W.k1, W.self1, "tx-unknown", "CN=device-one", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", NULL, &r);
    expect_fail(&W.rsa, &r, 2, c0, q0);
    /* bound to another subject */
    pw = challenge(&W.rsa, "router-*", 0);
    enroll(&W.rsa, W.k1, W.self1, "tx-subject", "CN=device-one", pw, NULL, &r);
    expect_fail(&W.rsa, &r, 2, c0, q0);
    /* reused: the one use went to the first request */
    pw = challenge(&W.rsa, NULL, 0);
    char saved[CERTA_CHALLENGE_LEN + 1];
    snprintf(saved, sizeof(saved), "%s", pw);
    enroll(&W.rsa, W.k1, W.self1, "tx-use-1", "CN=device-one", saved, NULL, &r);
    assert_int_equal(r.status, 0);
    reply_clear(&r);
    c0 = rows(&W.rsa, 0);
    q0 = rows(&W.rsa, 1);
    enroll(&W.rsa, W.k2, W.self2, "tx-use-2", "CN=device-two", saved, NULL, &r);
    expect_fail(&W.rsa, &r, 2, c0, q0);
}

static void test_garbage(void **state)
{
    (void)state;
    struct certa_http_response res;
    int64_t c0 = rows(&W.rsa, 0), q0 = rows(&W.rsa, 1);
    static const unsigned char junk[] = "this is not PKCS#7 at all";
    assert_int_equal(call(&W.rsa, "POST", "operation=PKIOperation", junk, sizeof(junk), &res), 0);
    assert_int_equal(res.status, 400);
    certa_buf_free(&res.body);
    /* truncated: a real message cut in half */
    unsigned char *csr, *der;
    size_t len, dlen;
    csr_der(W.k1, "CN=device-one", challenge(&W.rsa, NULL, 0), &csr, &len);
    struct msg_opts o = { .type = 19, .txid = "tx-trunc", .signer = W.self1, .key = W.k1 };
    build_msg(&W.rsa, &o, csr, len, &der, &dlen);
    assert_int_equal(call(&W.rsa, "POST", "operation=PKIOperation", der, dlen / 2, &res), 0);
    assert_int_equal(res.status, 400);
    certa_buf_free(&res.body);
    /* GET with garbage base64 and without message */
    assert_int_equal(call(&W.rsa, "GET", "operation=PKIOperation&message=%%%%!!", NULL, 0, &res), 0);
    assert_int_equal(res.status, 400);
    certa_buf_free(&res.body);
    assert_int_equal(call(&W.rsa, "GET", "operation=PKIOperation", NULL, 0, &res), 0);
    assert_int_equal(res.status, 400);
    certa_buf_free(&res.body);
    /* a SignedData whose content is not an envelope: a CertRep FAILURE */
    PKCS7 *p7 = PKCS7_sign(NULL, NULL, NULL, NULL, PKCS7_PARTIAL | PKCS7_BINARY);
    PKCS7_SIGNER_INFO *si = PKCS7_sign_add_signer(p7, W.self1, W.k1, EVP_sha256(), PKCS7_NOSMIMECAP);
    add_str(si, W.nid_type, "19");
    add_str(si, W.nid_txid, "tx-noenv");
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, (const unsigned char *)"0123456789abcdef", 16);
    PKCS7_add_signed_attribute(si, W.nid_snonce, V_ASN1_OCTET_STRING, os);
    BIO *b = BIO_new_mem_buf("hello", 5);
    PKCS7_final(p7, b, PKCS7_BINARY);
    unsigned char *bad = NULL;
    int blen = i2d_PKCS7(p7, &bad);
    assert_int_equal(call(&W.rsa, "POST", "operation=PKIOperation", bad, (size_t)blen, &res), 0);
    struct reply r;
    parse_reply(&W.rsa, &res, "tx-noenv", W.self1, W.k1, &r);
    certa_buf_free(&res.body);
    expect_fail(&W.rsa, &r, 1, c0, q0);
    OPENSSL_free(bad);
    BIO_free(b);
    PKCS7_free(p7);
    OPENSSL_free(csr);
    OPENSSL_free(der);
}

static void test_other_recipient(void **state)
{
    (void)state;
    struct reply r;
    int64_t c0 = rows(&W.rsa, 0), q0 = rows(&W.rsa, 1);
    unsigned char *csr;
    size_t len;
    csr_der(W.k1, "CN=device-one", challenge(&W.rsa, NULL, 0), &csr, &len);
    /* enveloped for the other CA's certificate */
    struct msg_opts o = { .type = 19, .txid = "tx-other", .recipient = W.manual.recipient,
                          .signer = W.self1, .key = W.k1 };
    pkiop(&W.rsa, &o, csr, len, &r);
    expect_fail(&W.rsa, &r, 1, c0, q0);
    OPENSSL_free(csr);
}

static void test_bad_signature(void **state)
{
    (void)state;
    struct certa_http_response res;
    struct reply r;
    int64_t c0 = rows(&W.rsa, 0), q0 = rows(&W.rsa, 1);
    unsigned char *csr, *der;
    size_t len, dlen;
    csr_der(W.k1, "CN=device-one", challenge(&W.rsa, NULL, 0), &csr, &len);
    struct msg_opts o = { .type = 19, .txid = "tx-badsig", .signer = W.self1, .key = W.k1 };
    build_msg(&W.rsa, &o, csr, len, &der, &dlen);
    /* flip a bit of the signature value (the last bytes of the encoding) */
    der[dlen - 5] ^= 0x01;
    assert_int_equal(call(&W.rsa, "POST", "operation=PKIOperation", der, dlen, &res), 0);
    parse_reply(&W.rsa, &res, "tx-badsig", W.self1, W.k1, &r);
    certa_buf_free(&res.body);
    expect_fail(&W.rsa, &r, 1, c0, q0);
    OPENSSL_free(der);
    OPENSSL_free(csr);
}

/* A pkiMessage changed after signing, as build_msg made it and OpenSSL's
 * PKCS#7 re-encodes it: the SignerInfo's signature itself stays valid. */
enum tamper { TAMPER_NONE, TAMPER_CONTENT, TAMPER_DIGEST_ALGS, TAMPER_NO_CERTS, TAMPER_OTHER_CERT };
static void tampered(enum tamper how, const char *txid, unsigned char **der, size_t *dlen)
{
    unsigned char *csr, *orig;
    size_t len, olen;
    csr_der(W.k1, "CN=device-one", challenge(&W.rsa, NULL, 0), &csr, &len);
    struct msg_opts o = { .type = 19, .txid = txid, .signer = W.self1, .key = W.k1 };
    build_msg(&W.rsa, &o, csr, len, &orig, &olen);
    const unsigned char *p = orig;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)olen);
    assert_non_null(p7);
    PKCS7_SIGNED *sd = p7->d.sign;
    switch (how) {
    case TAMPER_NONE:
        break;
    case TAMPER_CONTENT: {
        ASN1_OCTET_STRING *os = sd->contents->d.data;
        os->data[os->length / 2] ^= 0x01;
        break;
    }
    case TAMPER_DIGEST_ALGS: {
        sk_X509_ALGOR_pop_free(sd->md_algs, X509_ALGOR_free);
        sd->md_algs = sk_X509_ALGOR_new_null();
        X509_ALGOR *a = X509_ALGOR_new();
        X509_ALGOR_set_md(a, EVP_sha512());
        sk_X509_ALGOR_push(sd->md_algs, a);
        break;
    }
    case TAMPER_NO_CERTS:
        sk_X509_pop_free(sd->cert, X509_free);
        sd->cert = NULL;
        break;
    case TAMPER_OTHER_CERT:
        /* Another key's certificate under the signer's issuer and serial. */
        X509_free(sk_X509_value(sd->cert, 0));
        X509 *other = X509_dup(W.self2);
        X509_set_issuer_name(other, X509_get_issuer_name(W.self1));
        X509_set_serialNumber(other, X509_get_serialNumber(W.self1));
        X509_sign(other, W.k2, EVP_sha256());
        sk_X509_set(sd->cert, 0, other);
        break;
    }
    *der = NULL;
    int n = i2d_PKCS7(p7, der);
    assert_true(n > 0);
    *dlen = (size_t)n;
    PKCS7_free(p7);
    OPENSSL_free(orig);
    OPENSSL_free(csr);
}

/* What certa's own SignedData check (lib/proto/scep_open.c) must refuse
 * with badMessageCheck, storing nothing, each for its own reason: content
 * that is not what was signed, a digest the SignedData does not announce,
 * a missing signer certificate, another key's certificate under the
 * signer's name, a contentType attribute that is not the content's type.
 * The same message decoded and encoded again unchanged is issued: the
 * re-encoding alone breaks nothing. */
static void test_signed_data_checks(void **state)
{
    (void)state;
    static const char *const txids[] = { "tx-tamper-none", "tx-tamper-content", "tx-tamper-algs",
                                         "tx-tamper-nocert", "tx-tamper-othercert" };
    static const char *const why[] = { NULL, "does not match its messageDigest", "digestAlgorithms",
                                       "signer certificate missing", "signature does not verify" };
    for (int how = TAMPER_NONE; how <= TAMPER_OTHER_CERT; how++) {
        int64_t c0 = rows(&W.rsa, 0), q0 = rows(&W.rsa, 1);
        unsigned char *der;
        size_t dlen;
        struct certa_http_response res;
        struct reply r;
        tampered((enum tamper)how, txids[how], &der, &dlen);
        assert_int_equal(call(&W.rsa, "POST", "operation=PKIOperation", der, dlen, &res), 0);
        parse_reply(&W.rsa, &res, txids[how], W.self1, W.k1, &r);
        OPENSSL_free(der);
        if (how == TAMPER_NONE) {
            certa_buf_free(&res.body);
            assert_int_equal(r.status, 0);
            assert_issued_by(&W.rsa, r.cert);
            reply_clear(&r);
            continue;
        }
        assert_non_null(strstr(res.log_detail, why[how]));
        certa_buf_free(&res.body);
        expect_fail(&W.rsa, &r, 1, c0, q0);
    }
    int64_t c0 = rows(&W.rsa, 0), q0 = rows(&W.rsa, 1);
    unsigned char *csr;
    size_t len;
    struct reply r;
    csr_der(W.k1, "CN=device-one", challenge(&W.rsa, NULL, 0), &csr, &len);
    struct msg_opts o = { .type = 19, .txid = "tx-tamper-ctype", .signer = W.self1, .key = W.k1,
                          .content_type_nid = NID_pkcs7_signed };
    struct certa_http_response res;
    unsigned char *der;
    size_t dlen;
    build_msg(&W.rsa, &o, csr, len, &der, &dlen);
    assert_int_equal(call(&W.rsa, "POST", "operation=PKIOperation", der, dlen, &res), 0);
    parse_reply(&W.rsa, &res, o.txid, W.self1, W.k1, &r);
    assert_non_null(strstr(res.log_detail, "contentType"));
    certa_buf_free(&res.body);
    OPENSSL_free(der);
    expect_fail(&W.rsa, &r, 1, c0, q0);
    /* The same request with OpenSSL's own contentType is issued. */
    o.txid = "tx-tamper-plain";
    o.content_type_nid = 0;
    pkiop(&W.rsa, &o, csr, len, &r);
    assert_int_equal(r.status, 0);
    assert_issued_by(&W.rsa, r.cert);
    reply_clear(&r);
    OPENSSL_free(csr);
}

static void test_unknown_type_and_alg(void **state)
{
    (void)state;
    struct reply r;
    int64_t c0 = rows(&W.rsa, 0), q0 = rows(&W.rsa, 1);
    unsigned char *csr;
    size_t len;
    csr_der(W.k1, "CN=device-one", challenge(&W.rsa, NULL, 0), &csr, &len);
    struct msg_opts o = { .type = 99, .txid = "tx-type", .signer = W.self1, .key = W.k1 };
    pkiop(&W.rsa, &o, csr, len, &r);
    expect_fail(&W.rsa, &r, 2, c0, q0);
    /* MD5 without legacy: badAlg */
    o.type = 19;
    o.txid = "tx-md5";
    o.md = EVP_md5();
    pkiop(&W.rsa, &o, csr, len, &r);
    expect_fail(&W.rsa, &r, 0, c0, q0);
    /* an EC requester cannot receive an envelope: badAlg */
    o.md = NULL;
    o.txid = "tx-ec-signer";
    o.signer = W.ecself;
    o.key = W.eckey;
    unsigned char *der;
    size_t dlen;
    struct certa_http_response res;
    build_msg(&W.rsa, &o, csr, len, &der, &dlen);
    assert_int_equal(call(&W.rsa, "POST", "operation=PKIOperation", der, dlen, &res), 0);
    parse_reply(&W.rsa, &res, "tx-ec-signer", NULL, NULL, &r);
    certa_buf_free(&res.body);
    expect_fail(&W.rsa, &r, 0, c0, q0);
    OPENSSL_free(der);
    OPENSSL_free(csr);
}

static void test_txid_other_key(void **state)
{
    (void)state;
    struct reply r;
    enroll(&W.rsa, W.k1, W.self1, "tx-shared", "CN=device-one", challenge(&W.rsa, NULL, 0), NULL, &r);
    assert_int_equal(r.status, 0);
    X509 *first = r.cert;
    r.cert = NULL;
    reply_clear(&r);
    int64_t c0 = rows(&W.rsa, 0), q0 = rows(&W.rsa, 1);
    /* the same transaction from another key, even with a fresh password */
    enroll(&W.rsa, W.k2, W.self2, "tx-shared", "CN=device-two", challenge(&W.rsa, NULL, 0), NULL, &r);
    expect_fail(&W.rsa, &r, 2, c0, q0);
    /* the same key resending gets the same certificate, nothing new stored */
    enroll(&W.rsa, W.k1, W.self1, "tx-shared", "CN=device-one", NULL, NULL, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(X509_cmp(r.cert, first), 0);
    assert_int_equal(rows(&W.rsa, 0), c0);
    reply_clear(&r);
    X509_free(first);
}

static void test_manual_poll_approve(void **state)
{
    (void)state;
    struct reply r;
    /* no password at all: pending for the operator */
    enroll(&W.manual, W.k1, W.self1, "tx-manual", "CN=device-one", NULL, NULL, &r);
    assert_int_equal(r.status, 3);
    reply_clear(&r);
    unsigned char ias[] = { 0x30, 0x00 };
    struct msg_opts o = { .type = 20, .txid = "tx-manual", .signer = W.self1, .key = W.k1 };
    pkiop(&W.manual, &o, ias, sizeof(ias), &r);
    assert_int_equal(r.status, 3);
    reply_clear(&r);
    /* a poll from another key is refused */
    o.signer = W.self2;
    o.key = W.k2;
    pkiop(&W.manual, &o, ias, sizeof(ias), &r);
    assert_int_equal(r.status, 2);
    assert_int_equal(r.fail, 2);
    reply_clear(&r);
    /* unknown transaction: badCertId */
    o.txid = "tx-never";
    pkiop(&W.manual, &o, ias, sizeof(ias), &r);
    assert_int_equal(r.status, 2);
    assert_int_equal(r.fail, 4);
    reply_clear(&r);
    /* the operator approves; the next poll gets the certificate */
    struct certa_issue_result ir;
    assert_int_equal(certa_ca_poll(W.manual.ca, "scep", "tx-manual", &ir), 0);
    assert_int_equal(ir.decision, CERTA_DECISION_PENDING);
    assert_int_equal(certa_ca_approve(W.manual.ca, ir.request_id, NULL), 0);
    o.txid = "tx-manual";
    o.signer = W.self1;
    o.key = W.k1;
    pkiop(&W.manual, &o, ias, sizeof(ias), &r);
    assert_int_equal(r.status, 0);
    assert_issued_by(&W.manual, r.cert);
    reply_clear(&r);
    /* a rejected one polls as FAILURE */
    enroll(&W.manual, W.k2, W.self2, "tx-manual-2", "CN=device-two", "device-chosen", NULL, &r);
    assert_int_equal(r.status, 3);
    reply_clear(&r);
    assert_int_equal(certa_ca_poll(W.manual.ca, "scep", "tx-manual-2", &ir), 0);
    assert_int_equal(certa_ca_reject(W.manual.ca, ir.request_id, "not ours"), 0);
    o.txid = "tx-manual-2";
    o.signer = W.self2;
    o.key = W.k2;
    pkiop(&W.manual, &o, ias, sizeof(ias), &r);
    assert_int_equal(r.status, 2);
    assert_int_equal(r.fail, 2);
    reply_clear(&r);
}

struct find_ctx { const char *txid; char requester[80]; int found; };
static int find_req(const struct certa_request_row *row, void *arg)
{
    struct find_ctx *c = arg;
    if (row->transaction_id && strcmp(row->transaction_id, c->txid) == 0) {
        snprintf(c->requester, sizeof(c->requester), "%s", row->requester);
        c->found = 1;
        return 1;
    }
    return 0;
}

static void test_renewal(void **state)
{
    (void)state;
    struct reply r;
    enroll(&W.rsa, W.k1, W.self1, "tx-ren-0", "CN=renew-me", challenge(&W.rsa, NULL, 0), NULL, &r);
    assert_int_equal(r.status, 0);
    X509 *cur = r.cert;
    r.cert = NULL;
    reply_clear(&r);
    /* RenewalReq with a new key, signed with the current certificate, no password */
    unsigned char *csr;
    size_t len;
    csr_der(W.k2, "CN=renew-me", NULL, &csr, &len);
    struct msg_opts o = { .type = 17, .txid = "tx-ren-1", .signer = cur, .key = W.k1 };
    pkiop(&W.rsa, &o, csr, len, &r);
    assert_int_equal(r.status, 0);
    assert_issued_by(&W.rsa, r.cert);
    reply_clear(&r);
    OPENSSL_free(csr);
    char serial[100];
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cur), NULL);
    char *hex = BN_bn2hex(bn);
    char norm[80];
    certa_serial_normalize(hex, norm, sizeof(norm));
    snprintf(serial, sizeof(serial), "cert:%s", norm);
    OPENSSL_free(hex);
    BN_free(bn);
    struct find_ctx fc = { .txid = "tx-ren-1" };
    assert_int_equal(certa_store_request_list(certa_ca_store(W.rsa.ca), -1, find_req, &fc) >= 0, 1);
    assert_true(fc.found);
    assert_string_equal(fc.requester, serial);
    /* Renewal under the transactionID that issued the current certificate
     * (clients that derive it from the key): a new certificate, while a
     * resend of the first renewal gets the certificate it already got. */
    csr_der(W.k1, "CN=renew-me", NULL, &csr, &len);
    o.txid = "tx-ren-0";
    pkiop(&W.rsa, &o, csr, len, &r);
    assert_int_equal(r.status, 0);
    assert_int_not_equal(X509_cmp(r.cert, cur), 0);
    assert_issued_by(&W.rsa, r.cert);
    reply_clear(&r);
    OPENSSL_free(csr);
    /* another subject is refused; a self-signed RenewalReq too */
    int64_t c0 = rows(&W.rsa, 0), q0 = rows(&W.rsa, 1);
    csr_der(W.k2, "CN=someone-else", NULL, &csr, &len);
    o.txid = "tx-ren-2";
    pkiop(&W.rsa, &o, csr, len, &r);
    expect_fail(&W.rsa, &r, 2, c0, q0);
    o.txid = "tx-ren-3";
    o.signer = W.self1;
    pkiop(&W.rsa, &o, csr, len, &r);
    expect_fail(&W.rsa, &r, 2, c0, q0);
    /* revoked: refused */
    char *sn = norm;
    assert_int_equal(certa_ca_revoke(W.rsa.ca, sn, CERTA_REASON_SUPERSEDED, 0), 0);
    OPENSSL_free(csr);
    csr_der(W.k2, "CN=renew-me", NULL, &csr, &len);
    o.txid = "tx-ren-4";
    o.signer = cur;
    pkiop(&W.rsa, &o, csr, len, &r);
    expect_fail(&W.rsa, &r, 2, c0, q0);
    OPENSSL_free(csr);
    /* a PKCSReq from that revoked certificate bringing a password enrolls afresh */
    csr_der(W.k2, "CN=renew-me", challenge(&W.rsa, NULL, 0), &csr, &len);
    o.type = 19;
    o.txid = "tx-ren-5";
    pkiop(&W.rsa, &o, csr, len, &r);
    assert_int_equal(r.status, 0);
    assert_issued_by(&W.rsa, r.cert);
    reply_clear(&r);
    struct find_ctx fc2 = { .txid = "tx-ren-5" };
    assert_true(certa_store_request_list(certa_ca_store(W.rsa.ca), -1, find_req, &fc2) >= 0);
    assert_true(strncmp(fc2.requester, "challenge:", 10) == 0);
    OPENSSL_free(csr);
    X509_free(cur);
}

static unsigned char *ias_der(X509 *issuer_cert, const ASN1_INTEGER *serial, int *len)
{
    PKCS7_ISSUER_AND_SERIAL *ias = PKCS7_ISSUER_AND_SERIAL_new();
    X509_NAME_set(&ias->issuer, X509_get_subject_name(issuer_cert));
    ASN1_INTEGER_free(ias->serial);
    ias->serial = ASN1_INTEGER_dup(serial);
    unsigned char *der = NULL;
    *len = i2d_PKCS7_ISSUER_AND_SERIAL(ias, &der);
    PKCS7_ISSUER_AND_SERIAL_free(ias);
    return der;
}

static void test_getcert_getcrl_get(void **state)
{
    (void)state;
    struct reply r;
    enroll(&W.rsa, W.k1, W.self1, "tx-get-0", "CN=device-one", challenge(&W.rsa, NULL, 0), NULL, &r);
    X509 *issued = r.cert;
    r.cert = NULL;
    reply_clear(&r);
    int len;
    unsigned char *ias = ias_der(certa_ca_cert(W.rsa.ca), X509_get0_serialNumber(issued), &len);
    struct msg_opts o = { .type = 21, .txid = "tx-getcert", .signer = W.self1, .key = W.k1 };
    pkiop(&W.rsa, &o, ias, (size_t)len, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(X509_cmp(r.cert, issued), 0);
    reply_clear(&r);
    o.type = 22;
    o.txid = "tx-getcrl";
    pkiop(&W.rsa, &o, ias, (size_t)len, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(r.crl);
    assert_int_equal(X509_CRL_verify(r.crl, X509_get0_pubkey(certa_ca_cert(W.rsa.ca))), 1);
    reply_clear(&r);
    OPENSSL_free(ias);
    /* unknown serial: badCertId */
    ASN1_INTEGER *bogus = ASN1_INTEGER_new();
    ASN1_INTEGER_set(bogus, 12345);
    ias = ias_der(certa_ca_cert(W.rsa.ca), bogus, &len);
    o.type = 21;
    o.txid = "tx-getcert-bogus";
    pkiop(&W.rsa, &o, ias, (size_t)len, &r);
    assert_int_equal(r.status, 2);
    assert_int_equal(r.fail, 4);
    reply_clear(&r);
    OPENSSL_free(ias);
    ASN1_INTEGER_free(bogus);
    X509_free(issued);

    /* PKIOperation over GET: base64 with '+' unescaped, %2B/%2F/%3D and line breaks */
    unsigned char *csr, *der;
    size_t clen, dlen;
    csr_der(W.k2, "CN=device-two", challenge(&W.rsa, NULL, 0), &csr, &clen);
    struct msg_opts g = { .type = 19, .txid = "tx-get-b64", .signer = W.self2, .key = W.k2 };
    build_msg(&W.rsa, &g, csr, clen, &der, &dlen);
    char *b64 = malloc(dlen * 2 + 16);
    int n = EVP_EncodeBlock((unsigned char *)b64, der, (int)dlen);
    char *q = malloc((size_t)n * 3 + 64);
    size_t k = (size_t)sprintf(q, "operation=PKIOperation&message=");
    for (int i = 0; i < n; i++) {
        if (i % 64 == 63)
            k += (size_t)sprintf(q + k, "%%0A");
        if (b64[i] == '+' && (i & 1))
            k += (size_t)sprintf(q + k, "%%2B");
        else if (b64[i] == '/')
            k += (size_t)sprintf(q + k, "%%2F");
        else if (b64[i] == '=')
            k += (size_t)sprintf(q + k, "%%3D");
        else
            q[k++] = b64[i];
    }
    q[k] = '\0';
    struct certa_http_response res;
    assert_int_equal(call(&W.rsa, "GET", q, NULL, 0, &res), 0);
    parse_reply(&W.rsa, &res, "tx-get-b64", W.self2, W.k2, &r);
    assert_int_equal(r.status, 0);
    assert_issued_by(&W.rsa, r.cert);
    reply_clear(&r);
    certa_buf_free(&res.body);
    free(q);
    free(b64);
    OPENSSL_free(der);
    OPENSSL_free(csr);
}

/* Single DES and MD5: refused (badAlg) unless [scep] legacy = yes. */
static void test_legacy_gate(void **state)
{
    (void)state;
    OSSL_PROVIDER *def = OSSL_PROVIDER_load(NULL, "default");
    OSSL_PROVIDER *leg = OSSL_PROVIDER_load(NULL, "legacy");
    assert_non_null(def);
    assert_non_null(leg);
    const EVP_CIPHER *des = EVP_CIPHER_fetch(NULL, "DES-CBC", NULL);
    assert_non_null(des);
    struct reply r;
    int64_t c0 = rows(&W.rsa, 0), q0 = rows(&W.rsa, 1);
    enroll(&W.rsa, W.k1, W.self1, "tx-des", "CN=device-one", challenge(&W.rsa, NULL, 0), des, &r);
    expect_fail(&W.rsa, &r, 0, c0, q0);
    struct ca_env legacy = { .ca = W.rsa.ca, .legacy = "yes", .recipient = W.rsa.recipient };
    assert_int_equal(start(&legacy), 0);
    enroll(&legacy, W.k1, W.self1, "tx-des-legacy", "CN=device-one", challenge(&W.rsa, NULL, 0), des, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.cipher_nid, NID_des_cbc);
    assert_issued_by(&W.rsa, r.cert);
    reply_clear(&r);
    unsigned char *csr;
    size_t len;
    csr_der(W.k2, "CN=device-two", challenge(&W.rsa, NULL, 0), &csr, &len);
    struct msg_opts o = { .type = 19, .txid = "tx-md5-legacy", .md = EVP_md5(), .signer = W.self2, .key = W.k2 };
    pkiop(&legacy, &o, csr, len, &r);
    assert_int_equal(r.status, 0);
    reply_clear(&r);
    OPENSSL_free(csr);
    certa_service_scep.stop(legacy.state);
    EVP_CIPHER_free((EVP_CIPHER *)des);
    OSSL_PROVIDER_unload(leg);
    OSSL_PROVIDER_unload(def);
}

/* Several workers at once, each with its own CA handle on one shared
 * state (certad's threads): every enrollment issued once, and of two
 * requests racing for one one-time password exactly one wins. */
#define WORKERS 4
#define PER_WORKER 6
struct worker {
    certa_ca *ca;
    unsigned char *msg[PER_WORKER];
    size_t len[PER_WORKER];
    char txid[PER_WORKER][32];
    int status[PER_WORKER], fail[PER_WORKER];
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < PER_WORKER; i++) {
        struct certa_http_request req = { .method = "POST", .path = "/scep", .query = "operation=PKIOperation",
                                          .body = w->msg[i], .body_len = w->len[i] };
        struct certa_http_response res = { .status = 500 };
        w->status[i] = -1;
        if (certa_service_scep.handle(W.rsa.state, w->ca, &req, &res) == 0 && res.status == 200) {
            const unsigned char *p = res.body.data;
            PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)res.body.len);
            PKCS7_SIGNER_INFO *si = p7 ? sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7), 0) : NULL;
            if (si) {
                w->status[i] = attr_int(si, W.nid_status);
                w->fail[i] = attr_int(si, W.nid_fail);
            }
            PKCS7_free(p7);
        }
        certa_buf_free(&res.body);
    }
    return NULL;
}

static void test_concurrent_workers(void **state)
{
    (void)state;
    struct worker w[WORKERS];
    pthread_t th[WORKERS];
    int64_t c0 = rows(&W.rsa, 0);
    char shared[CERTA_CHALLENGE_LEN + 1];
    snprintf(shared, sizeof(shared), "%s", challenge(&W.rsa, NULL, 0));
    for (int t = 0; t < WORKERS; t++) {
        memset(&w[t], 0, sizeof(w[t]));
        assert_int_equal(certa_ca_open(W.rsa.dir, NULL, 0, &w[t].ca), 0);
        for (int i = 0; i < PER_WORKER; i++) {
            unsigned char *csr;
            size_t len;
            char subject[64];
            snprintf(subject, sizeof(subject), "CN=worker-%d-%d", t, i);
            snprintf(w[t].txid[i], sizeof(w[t].txid[i]), "tx-worker-%d-%d", t, i);
            /* the last request of workers 0 and 1 race for one password */
            const char *pw = (i == PER_WORKER - 1 && t < 2) ? shared : challenge(&W.rsa, NULL, 0);
            csr_der((t + i) & 1 ? W.k1 : W.k2, subject, pw, &csr, &len);
            struct msg_opts o = { .type = 19, .txid = w[t].txid[i], .signer = (t + i) & 1 ? W.self1 : W.self2,
                                  .key = (t + i) & 1 ? W.k1 : W.k2 };
            build_msg(&W.rsa, &o, csr, len, &w[t].msg[i], &w[t].len[i]);
            OPENSSL_free(csr);
        }
    }
    for (int t = 0; t < WORKERS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, worker_run, &w[t]), 0);
    for (int t = 0; t < WORKERS; t++)
        pthread_join(th[t], NULL);
    int issued = 0, raced_ok = 0;
    for (int t = 0; t < WORKERS; t++)
        for (int i = 0; i < PER_WORKER; i++) {
            int racing = i == PER_WORKER - 1 && t < 2;
            if (racing) {
                raced_ok += w[t].status[i] == 0;
                if (w[t].status[i] != 0) {
                    assert_int_equal(w[t].status[i], 2);
                    assert_int_equal(w[t].fail[i], 2);
                }
            } else {
                assert_int_equal(w[t].status[i], 0);
            }
            issued += w[t].status[i] == 0;
            OPENSSL_free(w[t].msg[i]);
        }
    assert_int_equal(raced_ok, 1);
    assert_int_equal(rows(&W.rsa, 0), c0 + issued);
    assert_int_equal(issued, WORKERS * PER_WORKER - 1);
    for (int t = 0; t < WORKERS; t++)
        certa_ca_free(w[t].ca);
}

/* [scep] clock_skew: a signingTime too far from the CA's clock is badTime;
 * within it, issued. Without the setting the time is not checked. */
static void test_bad_time(void **state)
{
    (void)state;
    struct ca_env skew = { .ca = W.rsa.ca, .clock_skew = "600", .recipient = W.rsa.recipient };
    assert_int_equal(start(&skew), 0);
    struct reply r;
    unsigned char *csr;
    size_t len;
    int64_t c0 = rows(&W.rsa, 0), q0 = rows(&W.rsa, 1);
    csr_der(W.k1, "CN=device-one", challenge(&W.rsa, NULL, 0), &csr, &len);
    struct msg_opts o = { .type = 19, .txid = "tx-time-1", .signer = W.self1, .key = W.k1,
                          .signing_time_offset = -86400 };
    pkiop(&skew, &o, csr, len, &r);
    expect_fail(&W.rsa, &r, 3, c0, q0);
    o.txid = "tx-time-2";
    o.signing_time_offset = -120;
    pkiop(&skew, &o, csr, len, &r);
    assert_int_equal(r.status, 0);
    reply_clear(&r);
    OPENSSL_free(csr);
    /* the default service does not look at the clock */
    csr_der(W.k2, "CN=device-two", challenge(&W.rsa, NULL, 0), &csr, &len);
    struct msg_opts o2 = { .type = 19, .txid = "tx-time-3", .signer = W.self2, .key = W.k2,
                           .signing_time_offset = -86400 * 400 };
    pkiop(&W.rsa, &o2, csr, len, &r);
    assert_int_equal(r.status, 0);
    reply_clear(&r);
    OPENSSL_free(csr);
    certa_service_scep.stop(skew.state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_cacert_rsa),
        cmocka_unit_test(test_cacert_ec_ra),
        cmocka_unit_test(test_enroll_rsa_ca),
        cmocka_unit_test(test_csr_key_differs),
        cmocka_unit_test(test_enroll_ec_ra_des3_aes256),
        cmocka_unit_test(test_challenge_refusals),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_other_recipient),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_signed_data_checks),
        cmocka_unit_test(test_unknown_type_and_alg),
        cmocka_unit_test(test_txid_other_key),
        cmocka_unit_test(test_manual_poll_approve),
        cmocka_unit_test(test_renewal),
        cmocka_unit_test(test_getcert_getcrl_get),
        cmocka_unit_test(test_legacy_gate),
        cmocka_unit_test(test_concurrent_workers),
        cmocka_unit_test(test_bad_time),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
