/* Shared set-up of the libFuzzer harnesses: a scratch directory per process
 * (removed at exit), a CA made once in it through the public API, a fixed
 * RSA requester key with a self-signed certificate, and a reader that hands
 * the harness the fuzz input in pieces. */
#ifndef CERTA_FUZZ_COMMON_H
#define CERTA_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "certa/ca.h"
#include "certa/util.h"

/* The process's scratch directory (made on first call). */
const char *fuzz_tmpdir(void);
/* A CA in fuzz_tmpdir()/NAME with key_spec ("rsa:2048", "ec:p256") and
 * extra lines appended to ca.conf (may be NULL), opened. Aborts on failure. */
certa_ca *fuzz_ca(const char *name, const char *key_spec, const char *extra_conf);
/* An RSA 2048 and a P-256 key, each made once per process. */
EVP_PKEY *fuzz_rsa_key(void);
EVP_PKEY *fuzz_ec_key(void);
/* A self-signed certificate for key with CN=cn, valid for an hour. */
X509 *fuzz_self_signed(EVP_PKEY *key, const char *cn);
/* Quiet logs unless FUZZ_VERBOSE is set. */
void fuzz_quiet(void);

/* Taking the fuzz input apart: bytes, small numbers, the rest. */
struct fuzz_in {
    const uint8_t *p;
    size_t n;
};
unsigned fuzz_u8(struct fuzz_in *in);
/* Up to max bytes preceded by a length byte, into out (NUL-terminated). */
size_t fuzz_str(struct fuzz_in *in, char *out, size_t max);

/* Issues a certificate for key with subject "CN=cn" through the pipeline
 * (default profile); aborts unless issued. */
X509 *fuzz_issue(certa_ca *ca, EVP_PKEY *key, const char *cn);
/* A PKCS#10 request assembled from the input (subject attributes with
 * their string types, SANs of every type, EKUs, key usage, basic
 * constraints, an extension of any OID) for key and signed with it; with
 * challenge, carrying that password. DER in *out (OPENSSL_free), or -1. */
int fuzz_build_csr(struct fuzz_in *in, EVP_PKEY *key, const char *challenge, unsigned char **out);

#endif
