/* libFuzzer harness of the SCEP service (certa_service_scep): handle() on
 * PKIOperation POST bodies and GET query strings, against an RSA CA (auto
 * approval, the CA decrypts) and an EC CA with its RA certificate (manual
 * approval, legacy algorithms allowed), both made once per process.
 *
 * The first byte picks the CA (bit 2) and the mode (bits 0-1):
 *   0  the rest is a POST body (DER, or base64 text)
 *   1  the rest is a GET query string
 *   2  the rest is the content of a pkiMessage that this harness envelopes
 *      for the CA/RA and signs, so that the decoders behind the signature
 *      (PKCS#10, IssuerAndSerialNumber, IssuerAndSubject) see fuzz data
 *   3  as 2, but the content is parsed as a PKCS#10 request, given our key
 *      (and, with bit 3, a valid challenge password: for any subject, or
 *      by bits 5-6 one bound to "*.example" or "CN=*, O=Acme") and re-signed, so
 *      that fuzz subjects, attributes and extensions reach the pipeline;
 *      with bit 4 the request is assembled from the content instead
 *      (fuzz_build_csr)
 * In modes 2-3 the next bytes choose messageType, digest, cipher, signer
 * (self-signed, or a certificate of the CA: renewal) and transactionID.
 * FUZZ_SCEP_WRAP=1 in the environment keeps every input in modes 2-3, for
 * campaigns on what lies behind the signature. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include "certa/challenge.h"
#include "certa/service.h"
#include "proto/scep_internal.h"
#include "fuzz_common.h"

extern const struct certa_service certa_service_scep;

struct target {
    certa_ca *ca;
    void *state;
    X509 *recipient;
    X509 *issued;               /* an RSA certificate of this CA, for renewals */
    char password[3][CERTA_CHALLENGE_LEN + 1];   /* any subject, "*.example", "CN=*, O=Acme" */
};
static struct target T[2];
static X509 *self;

static void target_init(struct target *t, const char *name, const char *spec, const char *conf)
{
    char ref[CERTA_CHALLENGE_REF_LEN + 1];
    t->ca = fuzz_ca(name, spec, conf);
    struct certa_service_env env = { .ca = t->ca };
    if (certa_service_scep.start(&env, &t->state) < 0)
        abort();
    struct scep_state *st = t->state;
    t->recipient = st->ra_cert ? st->ra_cert : st->ca_cert;
    t->issued = fuzz_issue(t->ca, fuzz_rsa_key(), "device.example");
    const char *patterns[] = { NULL, "*.example", "CN=*, O=Acme" };
    for (int i = 0; i < 3; i++) {
        struct certa_challenge_params cp = { .uses = -1, .subject_pattern = patterns[i] };
        if (certa_challenge_create(certa_ca_store(t->ca), &cp, t->password[i], ref) < 0)
            abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    fuzz_quiet();
    target_init(&T[0], "scep-rsa", "rsa:2048", NULL);
    target_init(&T[1], "scep-ec", "ec:p256", "\n[scep]\nprofile = manual\nlegacy = yes\n");
    self = fuzz_self_signed(fuzz_rsa_key(), "device.example");
    return 0;
}

static int add_string(PKCS7_SIGNER_INFO *si, int nid, const char *v)
{
    ASN1_STRING *s = ASN1_STRING_type_new(V_ASN1_PRINTABLESTRING);
    if (s == NULL || !ASN1_STRING_set(s, v, (int)strlen(v)) ||
        !PKCS7_add_signed_attribute(si, nid, V_ASN1_PRINTABLESTRING, s)) {
        ASN1_STRING_free(s);
        return 0;
    }
    return 1;
}

/* The fuzz content as a PKCS#10 with our key, re-signed; NULL when it does
 * not parse. */
static unsigned char *resign_csr(const uint8_t *d, size_t n, const char *password, int *len)
{
    const unsigned char *p = d;
    X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)n);
    unsigned char *der = NULL;
    *len = 0;
    if (r == NULL)
        return NULL;
    if (password)
        X509_REQ_add1_attr_by_NID(r, NID_pkcs9_challengePassword, MBSTRING_ASC,
                                  (const unsigned char *)password, -1);
    if (X509_REQ_set_pubkey(r, fuzz_rsa_key()) && X509_REQ_sign(r, fuzz_rsa_key(), EVP_sha256()) > 0)
        *len = i2d_X509_REQ(r, &der);
    X509_REQ_free(r);
    return *len > 0 ? der : NULL;
}

/* A pkiMessage around inner, as a client would send it. */
static int build(struct target *t, struct fuzz_in *in, const unsigned char *inner, size_t inner_len,
                 unsigned char **out)
{
    static const int types[] = { 19, 17, 20, 21, 22, 3, 99 };
    const EVP_MD *mds[] = { EVP_sha256(), EVP_sha1(), EVP_sha512(), EVP_md5() };
    const EVP_CIPHER *ciphers[] = { EVP_aes_128_cbc(), EVP_aes_256_cbc(), EVP_des_ede3_cbc() };
    const struct scep_nids *nids = scep_nids();
    unsigned sel = fuzz_u8(in), sel2 = fuzz_u8(in);
    char txid[SCEP_TXID_MAX + 1], type[8];
    unsigned char nonce[16];
    X509 *signer = (sel & 0x80) ? t->issued : self;
    int len = -1;
    fuzz_str(in, txid, 40);
    if (txid[0] == '\0')
        snprintf(txid, sizeof(txid), "fuzz");
    snprintf(type, sizeof(type), "%d", types[(sel & 7) % 7]);
    STACK_OF(X509) *rc = sk_X509_new_null();
    BIO *bin = BIO_new_mem_buf(inner, (int)inner_len), *bdata = NULL;
    PKCS7 *env = NULL, *p7 = NULL;
    unsigned char *envder = NULL;
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    sk_X509_push(rc, t->recipient);
    if ((env = PKCS7_encrypt(rc, bin, ciphers[((sel >> 3) & 3) % 3], PKCS7_BINARY)) == NULL)
        goto out;
    int envlen = i2d_PKCS7(env, &envder);
    if (envlen <= 0 || (p7 = PKCS7_sign(NULL, NULL, NULL, NULL, PKCS7_PARTIAL | PKCS7_BINARY)) == NULL)
        goto out;
    PKCS7_SIGNER_INFO *si = PKCS7_sign_add_signer(p7, signer, fuzz_rsa_key(), mds[(sel >> 5) & 3],
                                                  PKCS7_NOSMIMECAP);
    if (si == NULL)
        goto out;
    RAND_bytes(nonce, sizeof(nonce));
    ASN1_OCTET_STRING_set(os, nonce, (sel2 & 1) ? 1 + (int)(sel2 >> 4) : (int)sizeof(nonce));
    if (!add_string(si, nids->message_type, type) || !add_string(si, nids->transaction_id, txid) ||
        !PKCS7_add_signed_attribute(si, nids->sender_nonce, V_ASN1_OCTET_STRING, os))
        goto out;
    os = NULL;
    if ((bdata = BIO_new_mem_buf(envder, envlen)) == NULL || PKCS7_final(p7, bdata, PKCS7_BINARY) != 1)
        goto out;
    len = i2d_PKCS7(p7, out);
out:
    if (len <= 0 && getenv("FUZZ_VERBOSE"))
        ERR_print_errors_fp(stderr);
    ASN1_OCTET_STRING_free(os);
    BIO_free(bdata);
    BIO_free(bin);
    OPENSSL_free(envder);
    PKCS7_free(env);
    PKCS7_free(p7);
    sk_X509_free(rc);
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 96 * 1024)
        return 0;
    static int wrap = -1;
    if (wrap < 0)
        wrap = getenv("FUZZ_SCEP_WRAP") != NULL && strcmp(getenv("FUZZ_SCEP_WRAP"), "1") == 0;
    unsigned mode = data[0] | (wrap ? 2 : 0);
    struct target *t = &T[(mode >> 2) & 1];
    struct fuzz_in in = { data + 1, size - 1 };
    struct certa_http_request req = { .method = "POST", .path = "/scep", .query = "operation=PKIOperation",
                                      .remote_addr = "127.0.0.1:1" };
    unsigned char *msg = NULL, *csr = NULL;
    char *query = NULL;
    switch (mode & 3) {
    case 0:
        req.body = in.p;
        req.body_len = in.n;
        break;
    case 1:
        req.method = "GET";
        query = malloc(in.n + 1);
        memcpy(query, in.p, in.n);
        query[in.n] = '\0';
        req.query = query;
        break;
    default: {
        int n;
        struct fuzz_in hdr = in;
        /* The header bytes first, the content after them. */
        fuzz_u8(&hdr);
        fuzz_u8(&hdr);
        char skip[64];
        fuzz_str(&hdr, skip, 40);
        const unsigned char *inner = hdr.p;
        size_t inner_len = hdr.n;
        if ((mode & 3) == 3) {
            const char *pw = (mode & 8) ? t->password[((mode >> 5) & 3) % 3] : NULL;
            if (mode & 16)
                n = fuzz_build_csr(&hdr, fuzz_rsa_key(), pw, &csr);
            else
                csr = resign_csr(hdr.p, hdr.n, pw, &n);
            if (csr == NULL || n <= 0)
                goto out;
            inner = csr;
            inner_len = (size_t)n;
        }
        if (inner_len == 0 || (n = build(t, &in, inner, inner_len, &msg)) <= 0)
            goto out;
        req.body = msg;
        req.body_len = (size_t)n;
    }
    }
    struct certa_http_response res = { .status = 500 };
    int rc = certa_service_scep.handle(t->state, t->ca, &req, &res);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "rc=%d status=%d %s\n", rc, res.status, res.log_detail);
    certa_buf_free(&res.body);
out:
    OPENSSL_free(msg);
    OPENSSL_free(csr);
    free(query);
    return 0;
}
