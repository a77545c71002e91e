/* libFuzzer harness of the CMP service (certa_service_cmp): handle() on
 * POSTed PKIMessages, against a CA made once per process with an unlimited
 * MAC secret and [cmp] poll_interval = 1, max_skew = 300.
 *
 * The first byte: bits 0-1 pick the path (/cmp, /.well-known/cmp,
 * /.well-known/cmp/p/manual, /.well-known/cmp/p/nosuch); bit 2 parses the
 * rest as a PKIMessage and protects it again with the valid secret (fresh
 * senderNonce, messageTime now, the secret's senderKID) so that the body
 * reaches the OpenSSL server and certa's callbacks; bit 3 keeps the
 * transactionID of the previous protected message and answers the last
 * response's senderNonce (certConf, pollReq continuing a transaction);
 * bit 4 runs tick(); bit 5 signs instead, with a certificate of the CA
 * (sender and extraCerts set to it): kur and rr paths. Without bit 2 the
 * bytes are the raw body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>
#include "certa/cmp.h"
#include "proto/cmp_internal.h"
#include "fuzz_common.h"

static certa_ca *ca;
static void *state;
static char ref[CERTA_CMP_REF_MAX + 1], secret[CERTA_CMP_SECRET_MAX + 1];
static OSSL_CMP_CTX *keep;                     /* the transaction kept by bit 3 */
static X509 *device;                           /* issued by the CA, for signing */
static unsigned char last_nonce[CMP_NONCE_MAX];
static int last_nonce_len;

static const char *settings(void *arg, const char *section, const char *key)
{
    (void)arg;
    if (strcmp(section, "cmp") != 0)
        return NULL;
    if (strcmp(key, "poll_interval") == 0)
        return "1";
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    fuzz_quiet();
    ca = fuzz_ca("cmp", "ec:p256", NULL);
    struct certa_service_env env = { .ca = ca, .setting = settings };
    if (certa_service_cmp.start(&env, &state) < 0)
        abort();
    struct certa_cmp_secret_params sp = { .uses = -1 };
    if (certa_cmp_secret_create(ca, &sp, ref, secret) < 0)
        abort();
    device = fuzz_issue(ca, fuzz_ec_key(), "device.example");
    return 0;
}

static OSSL_CMP_CTX *client(int sig)
{
    OSSL_CMP_CTX *c = OSSL_CMP_CTX_new(NULL, NULL);
    if (c == NULL)
        abort();
    if (sig ? !OSSL_CMP_CTX_set1_cert(c, device) || !OSSL_CMP_CTX_set1_pkey(c, fuzz_ec_key())
            : !OSSL_CMP_CTX_set1_referenceValue(c, (unsigned char *)ref, (int)strlen(ref)) ||
              !OSSL_CMP_CTX_set1_secretValue(c, (unsigned char *)secret, (int)strlen(secret)))
        abort();
    return c;
}

/* Signed by the device: it is the sender and the only extraCert. */
static void as_device(OSSL_CMP_MSG *m)
{
    GENERAL_NAME *sender = cmp_hdr_field(m, "sender");
    STACK_OF(X509) *extra = (STACK_OF(X509) *)cmp_msg_extraCerts(m);
    X509_NAME *dn = X509_NAME_dup(X509_get_subject_name(device));
    if (sender != NULL && sender->type == GEN_DIRNAME && dn != NULL) {
        X509_NAME_free(sender->d.directoryName);
        sender->d.directoryName = dn;
        dn = NULL;
    }
    X509_NAME_free(dn);
    while (sk_X509_num(extra) > 0)
        X509_free(sk_X509_pop(extra));
}

/* The fuzz PKIMessage with a valid MAC; NULL when it does not parse. */
static unsigned char *protect(const uint8_t *d, size_t n, int cont, int sig, int *len)
{
    const unsigned char *p = d;
    OSSL_CMP_MSG *m = d2i_OSSL_CMP_MSG(NULL, &p, (long)n);
    unsigned char *der = NULL, nonce[16];
    *len = 0;
    if (m == NULL)
        return NULL;
    ASN1_OCTET_STRING *sn = cmp_hdr_field(m, "senderNonce");
    ASN1_OCTET_STRING *rn = cmp_hdr_field(m, "recipNonce");
    ASN1_GENERALIZEDTIME *mt = cmp_hdr_field(m, "messageTime");
    RAND_bytes(nonce, sizeof(nonce));
    if (sn != NULL)
        ASN1_OCTET_STRING_set(sn, nonce, sizeof(nonce));
    if (rn != NULL && cont && last_nonce_len > 0)
        ASN1_OCTET_STRING_set(rn, last_nonce, last_nonce_len);
    if (mt != NULL)
        ASN1_GENERALIZEDTIME_set(mt, time(NULL));
    if (sig)
        as_device(m);
    OSSL_CMP_CTX *c = cont && !sig ? (keep ? keep : (keep = client(0))) : client(sig);
    if (OSSL_CMP_MSG_update_transactionID(c, m))
        *len = i2d_OSSL_CMP_MSG(m, &der);
    if (c != keep)
        OSSL_CMP_CTX_free(c);
    OSSL_CMP_MSG_free(m);
    ERR_clear_error();
    return *len > 0 ? der : NULL;
}

static void remember_nonce(const certa_buf *body)
{
    const unsigned char *p = body->data;
    OSSL_CMP_MSG *m = body->len ? d2i_OSSL_CMP_MSG(NULL, &p, (long)body->len) : NULL;
    const ASN1_OCTET_STRING *sn = m ? cmp_hdr_senderNonce(m) : NULL;
    if (sn != NULL && ASN1_STRING_length(sn) <= CMP_NONCE_MAX) {
        last_nonce_len = ASN1_STRING_length(sn);
        memcpy(last_nonce, ASN1_STRING_get0_data(sn), (size_t)last_nonce_len);
    }
    OSSL_CMP_MSG_free(m);
    ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const paths[] = { "/cmp", "/.well-known/cmp", "/.well-known/cmp/p/manual",
                                         "/.well-known/cmp/p/nosuch" };
    if (size < 1 || size > CMP_BODY_MAX + 1)
        return 0;
    unsigned mode = data[0];
    unsigned char *der = NULL;
    struct certa_http_request req = { .method = "POST", .path = paths[mode & 3], .remote_addr = "127.0.0.1:1",
                                      .content_type = "application/pkixcmp", .body = data + 1,
                                      .body_len = size - 1 };
    if (mode & 4) {
        int n;
        if ((der = protect(data + 1, size - 1, (mode & 8) != 0, (mode & 32) != 0, &n)) == NULL)
            return 0;
        req.body = der;
        req.body_len = (size_t)n;
    }
    struct certa_http_response res = { .status = 500 };
    int rc = certa_service_cmp.handle(state, ca, &req, &res);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "rc=%d status=%d %s\n", rc, res.status, res.log_detail);
    if (mode & 8)
        remember_nonce(&res.body);
    certa_buf_free(&res.body);
    if (mode & 16)
        certa_service_cmp.tick(state, ca);
    OPENSSL_free(der);
    return 0;
}
