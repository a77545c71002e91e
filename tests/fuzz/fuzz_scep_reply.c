/* libFuzzer harness of the device side of SCEP: the CertRep parser
 * (certa_scep_reply_decode in lib/entity/scep_reply.c) for one fixed
 * transaction, the envelope opener, and the GetCACaps parser.
 *
 * The first byte: bits 0-2 pick the mode, bit 3 the trustpoint's legacy switch.
 *   0  the rest is the CertRep as the server sent it
 *   1  the rest is the content of a CertRep this harness signs with the CA
 *      key (status, failInfo, transactionID, recipientNonce and digest from
 *      the next bytes): the envelope parser sees fuzz data
 *   2  as 1, and the content is enveloped to our certificate first (AES,
 *      3DES or single DES): the certs-only parser sees fuzz data
 *   3  the rest goes to certa_scep_envelope_open directly
 *   4  the rest is a GetCACaps body */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include "entity/scep_msg.h"
#include "fuzz_common.h"

#define TXID "4f1c0e8d2b7a9c3e5f6a1b2c3d4e5f60"

static EVP_PKEY *ca_key;
static X509 *ca_cert, *our_cert;
static STACK_OF(X509) *signers;
static unsigned char nonce[SCEP_NONCE_LEN] = "0123456789abcdef";
static struct scep_nids nids;
static OSSL_LIB_CTX *legacy_ctx;
static EVP_CIPHER *single_des;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    fuzz_quiet();
    ca_key = fuzz_ec_key();
    ca_cert = fuzz_self_signed(ca_key, "Fuzz SCEP CA");
    our_cert = fuzz_self_signed(fuzz_rsa_key(), "device.example");
    signers = sk_X509_new_null();
    if (signers == NULL || !sk_X509_push(signers, ca_cert) || certa_scep_nids(&nids) < 0)
        abort();
    /* As old servers answer: single DES, made in a context of its own. */
    if ((legacy_ctx = OSSL_LIB_CTX_new()) == NULL || OSSL_PROVIDER_load(legacy_ctx, "default") == NULL ||
        OSSL_PROVIDER_load(legacy_ctx, "legacy") == NULL ||
        (single_des = EVP_CIPHER_fetch(legacy_ctx, "DES-CBC", NULL)) == NULL)
        abort();
    return 0;
}

static int add(PKCS7_SIGNER_INFO *si, int nid, int type, const void *d, int len)
{
    ASN1_STRING *s = ASN1_STRING_type_new(type);
    if (s == NULL || !ASN1_STRING_set(s, d, len) || !PKCS7_add_signed_attribute(si, nid, type, s)) {
        ASN1_STRING_free(s);
        return 0;
    }
    return 1;
}

/* content enveloped to our certificate with the chosen cipher. */
static int envelope(unsigned sel, const unsigned char *d, size_t n, unsigned char **out)
{
    STACK_OF(X509) *to = sk_X509_new_null();
    BIO *in = BIO_new_mem_buf(d, (int)n);
    PKCS7 *env = NULL;
    int len = -1;
    sk_X509_push(to, our_cert);
    switch (sel % 3) {
    case 0: env = PKCS7_encrypt(to, in, EVP_aes_128_cbc(), PKCS7_BINARY); break;
    case 1: env = PKCS7_encrypt(to, in, EVP_des_ede3_cbc(), PKCS7_BINARY); break;
    default: env = PKCS7_encrypt_ex(to, in, single_des, PKCS7_BINARY, legacy_ctx, NULL); break;
    }
    if (env != NULL)
        len = i2d_PKCS7(env, out);
    PKCS7_free(env);
    BIO_free(in);
    sk_X509_free(to);
    return len;
}

static int certrep(struct fuzz_in *in, const unsigned char *content, size_t clen, unsigned char **out)
{
    static const char *const statuses[] = { "0", "2", "3", "1", "", "00" };
    static const char *const fails[] = { NULL, "0", "1", "2", "3", "4", "99", "x" };
    unsigned a = fuzz_u8(in), b = fuzz_u8(in);
    const EVP_MD *md = (a & 0x40) ? EVP_sha1() : (a & 0x80) ? EVP_sha512() : EVP_sha256();
    PKCS7 *p7 = PKCS7_sign(NULL, NULL, NULL, NULL, PKCS7_BINARY | PKCS7_PARTIAL);
    BIO *data = NULL;
    int len = -1;
    PKCS7_SIGNER_INFO *si = p7 ? PKCS7_sign_add_signer(p7, ca_cert, ca_key, md, PKCS7_BINARY | PKCS7_NOSMIMECAP)
                               : NULL;
    const char *status = statuses[(a & 7) % 6], *fail = fails[(a >> 3) & 7];
    if (si == NULL || !add(si, nids.message_type, V_ASN1_PRINTABLESTRING, (b & 1) ? "19" : "3", (b & 1) ? 2 : 1) ||
        !add(si, nids.pki_status, V_ASN1_PRINTABLESTRING, status, (int)strlen(status)) ||
        (fail && !add(si, nids.fail_info, V_ASN1_PRINTABLESTRING, fail, (int)strlen(fail))) ||
        !add(si, nids.transaction_id, (b & 2) ? V_ASN1_UTF8STRING : V_ASN1_PRINTABLESTRING, TXID,
             (b & 4) ? 5 : (int)strlen(TXID)) ||
        ((b & 8) == 0 && !add(si, nids.recipient_nonce, V_ASN1_OCTET_STRING, nonce, (b & 16) ? 8 : SCEP_NONCE_LEN)))
        goto out;
    if ((data = BIO_new_mem_buf(clen ? (const void *)content : "", (int)clen)) == NULL ||
        PKCS7_final(p7, data, PKCS7_BINARY) != 1)
        goto out;
    if (b & 32)
        PKCS7_set_detached(p7, 1);
    len = i2d_PKCS7(p7, out);
out:
    BIO_free(data);
    PKCS7_free(p7);
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    struct fuzz_in in = { data + 1, size - 1 };
    struct scep_expect exp = { .signers = signers, .transaction_id = TXID, .sender_nonce = nonce,
                               .key = fuzz_rsa_key(), .cert = our_cert, .legacy = (mode & 8) != 0 };
    struct scep_reply rep = { 0 };
    unsigned char *msg = NULL, *env = NULL;
    certa_buf plain = { 0 };
    int n, rc = 1;
    switch (mode & 7) {
    case 0:
        rc = certa_scep_reply_decode(in.p, in.n, &exp, &rep);
        break;
    case 1:
    case 2: {
        struct fuzz_in body = in;
        fuzz_u8(&body);
        fuzz_u8(&body);
        unsigned cipher = fuzz_u8(&body);
        const unsigned char *content = body.p;
        size_t clen = body.n;
        if ((mode & 7) == 2) {
            if ((n = envelope(cipher, body.p, body.n, &env)) <= 0)
                break;
            content = env;
            clen = (size_t)n;
        }
        if ((n = certrep(&in, content, clen, &msg)) > 0)
            rc = certa_scep_reply_decode(msg, (size_t)n, &exp, &rep);
        break;
    }
    case 3:
        rc = certa_scep_envelope_open(in.p, in.n, exp.key, exp.cert, exp.legacy, &plain);
        break;
    default: {
        struct scep_algs algs;
        certa_scep_algs_choose(certa_scep_caps_parse((const char *)in.p, in.n), exp.legacy, &algs);
        break;
    }
    }
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "rc=%d status=%d certs=%d %s\n", rc, rep.status, sk_X509_num(rep.certs),
                rc < 0 ? certa_error_last() : "");
    certa_scep_reply_clear(&rep);
    certa_buf_free(&plain);
    OPENSSL_free(msg);
    OPENSSL_free(env);
    ERR_clear_error();
    return 0;
}
