/* libFuzzer harness of PKCS#10 handling: certa_csr_parse on PEM or DER,
 * then certa_request_from_csr and the issuance pipeline (certa_ca_submit)
 * on a CA made once per process. Any decision is fine; a crash, a leak or
 * undefined behaviour is not.
 *
 * The first byte: bits 0-2 pick the profile (default, ipsec, tls-server,
 * manual, legacy, a missing one); bit 3 preapproves; bit 4 first gives the
 * parsed request our own key and signs it again, so that fuzz subjects,
 * attributes and extensions get past the signature check to the policy;
 * bit 5 instead assembles the request from the rest (fuzz_build_csr) with
 * the key bits 6-7 pick (P-256, RSA 2048, Ed25519, P-384). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include "certa/csr.h"
#include "fuzz_common.h"

static certa_ca *ca;
static EVP_PKEY *keys[4];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    fuzz_quiet();
    ca = fuzz_ca("csr", "ec:p256", NULL);
    keys[0] = fuzz_ec_key();
    keys[1] = fuzz_rsa_key();
    keys[2] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    keys[3] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    if (keys[2] == NULL || keys[3] == NULL)
        abort();
    return 0;
}

static unsigned char *resign(const uint8_t *d, size_t n, int *len)
{
    const unsigned char *p = d;
    X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)n);
    unsigned char *der = NULL;
    *len = 0;
    if (r != NULL && X509_REQ_set_pubkey(r, fuzz_ec_key()) && X509_REQ_sign(r, fuzz_ec_key(), EVP_sha256()) > 0)
        *len = i2d_X509_REQ(r, &der);
    X509_REQ_free(r);
    ERR_clear_error();
    return *len > 0 ? der : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const profiles[] = { NULL, "ipsec", "tls-server", "manual", "legacy", "nosuch",
                                            "default", "" };
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    const unsigned char *in = data + 1;
    size_t len = size - 1;
    unsigned char *der = NULL;
    X509_REQ *csr = NULL;
    struct certa_csr_request cr = { 0 };
    struct certa_issue_result res = { 0 };
    if (mode & 32) {
        struct fuzz_in fin = { in, len };
        int n = fuzz_build_csr(&fin, keys[(mode >> 6) & 3], NULL, &der);
        if (n <= 0)
            return 0;
        in = der;
        len = (size_t)n;
    } else if (mode & 16) {
        int n;
        if ((der = resign(in, len, &n)) == NULL)
            return 0;
        in = der;
        len = (size_t)n;
    }
    if (certa_csr_parse(in, len, &csr) < 0)
        goto out;
    char *pw = certa_csr_challenge(csr);
    if (pw)
        OPENSSL_free(pw);
    if (certa_request_from_csr(csr, &cr) < 0)
        goto out;
    cr.req.profile = profiles[mode & 7];
    cr.req.protocol = "cli";
    cr.req.requester = "operator";
    cr.req.preapproved = (mode & 8) != 0;
    int rc = certa_ca_submit(ca, &cr.req, &res);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "rc=%d decision=%d %s\n", rc, res.decision, res.reason);
out:
    certa_issue_result_clear(&res);
    certa_csr_request_clear(&cr);
    X509_REQ_free(csr);
    OPENSSL_free(der);
    return 0;
}
