/* libFuzzer harness of certificate import into a trustpoint
 * (certa_trustpoint_import: PEM, DER or PKCS#7 input) in a state directory
 * made once per process: trustpoint "tp" with a key pair and the CA
 * installed, and "pinned", which also pins the CA's SHA-256 fingerprint.
 *
 * The first byte: bit 0 imports as the CA certificate (as_ca); bit 1 picks
 * "pinned"; bit 2 first parses the rest as a certificate, gives it our
 * public key (unless as_ca) and the CA as issuer and signs it with the CA
 * key, so that fuzz certificates reach the chain check and the writes;
 * bits 3-4 then choose its form (DER, PEM, PKCS#7 DER, PKCS#7 PEM) and
 * bit 5 adds the CA certificate next to it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include "certa/keystore.h"
#include "certa/trustpoint.h"
#include "fuzz_common.h"

static char state[1024];
static certa_ca *ca;
static EVP_PKEY *keys[2];
static certa_buf ca_pem;

static void install_ca(const char *name)
{
    char path[2048];
    if (certa_trustpoint_path(state, name, "ca.pem", path, sizeof(path)) < 0 ||
        certa_file_write_atomic(path, ca_pem.data, ca_pem.len, 0644) < 0)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    fuzz_quiet();
    ca = fuzz_ca("import", "ec:p256", NULL);
    snprintf(state, sizeof(state), "%s/state", fuzz_tmpdir());
    struct certa_trustpoint tp;
    char fp[200], pin[220], hex[200];
    size_t n = 0;
    BIO *b = BIO_new(BIO_s_mem());
    char *d;
    if (b == NULL || !PEM_write_bio_X509(b, certa_ca_cert(ca)))
        abort();
    long len = BIO_get_mem_data(b, &d);
    certa_buf_append(&ca_pem, d, (size_t)len);
    BIO_free(b);
    if (certa_cert_fingerprint(certa_ca_cert(ca), "sha256", fp, sizeof(fp)) < 0)
        abort();
    for (const char *p = fp; *p; p++)
        if (*p != ':')
            hex[n++] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
    hex[n] = '\0';
    snprintf(pin, sizeof(pin), "sha256:%s", hex);
    const char *names[] = { "tp", "pinned" };
    for (int i = 0; i < 2; i++) {
        certa_trustpoint_init(&tp, names[i]);
        if ((i == 1 && certa_trustpoint_set(&tp, "fingerprint", pin) < 0) || certa_trustpoint_save(state, &tp) < 0 ||
            certa_keystore_generate(state, names[i], "ec:p256", 0, 0) < 0) {
            fprintf(stderr, "fuzz: trustpoint %s: %s\n", names[i], certa_error_last());
            abort();
        }
        install_ca(names[i]);
    }
    for (int i = 0; i < 2; i++)
        if (certa_keystore_load(state, names[i], CERTA_KEYROLE_ANY, &keys[i]) < 0)
            abort();
    return 0;
}

/* The fuzz certificate re-issued by the CA, in the chosen form. */
static int forge(const uint8_t *d, size_t n, unsigned mode, unsigned char **out)
{
    const unsigned char *p = d;
    X509 *x = d2i_X509(NULL, &p, (long)n);
    X509 *cacert = certa_ca_cert(ca);
    BIO *b = NULL;
    PKCS7 *p7 = NULL;
    int len = -1;
    *out = NULL;
    if (x == NULL)
        goto out;
    if (!(mode & 1) && !X509_set_pubkey(x, keys[(mode >> 1) & 1]))
        goto out;
    /* Its own authorityKeyIdentifier would name another issuer. */
    int akid = X509_get_ext_by_NID(x, NID_authority_key_identifier, -1);
    if (akid >= 0)
        X509_EXTENSION_free(X509_delete_ext(x, akid));
    if (!X509_set_issuer_name(x, X509_get_subject_name(cacert)) || X509_sign(x, certa_ca_key(ca), EVP_sha256()) <= 0)
        goto out;
    if ((b = BIO_new(BIO_s_mem())) == NULL)
        goto out;
    int form = (mode >> 3) & 3, ok;
    if (form >= 2) {
        if ((p7 = PKCS7_sign(NULL, NULL, NULL, NULL, PKCS7_PARTIAL)) == NULL || !PKCS7_content_new(p7, NID_pkcs7_data) ||
            !PKCS7_add_certificate(p7, x) || ((mode & 32) && !PKCS7_add_certificate(p7, cacert)))
            goto out;
        ok = form == 2 ? i2d_PKCS7_bio(b, p7) : PEM_write_bio_PKCS7(b, p7);
    } else {
        ok = form == 0 ? i2d_X509_bio(b, x) : PEM_write_bio_X509(b, x);
        if (ok && (mode & 32))
            ok = form == 0 ? i2d_X509_bio(b, cacert) : PEM_write_bio_X509(b, cacert);
    }
    char *data;
    long blen = ok ? BIO_get_mem_data(b, &data) : 0;
    if (blen > 0 && (*out = OPENSSL_memdup(data, (size_t)blen)) != NULL)
        len = (int)blen;
out:
    ERR_clear_error();
    PKCS7_free(p7);
    BIO_free(b);
    X509_free(x);
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    const char *name = (mode & 2) ? "pinned" : "tp";
    const unsigned char *in = data + 1;
    size_t len = size - 1;
    unsigned char *forged = NULL;
    if (mode & 4) {
        int n = forge(in, len, mode, &forged);
        if (n <= 0)
            return 0;
        in = forged;
        len = (size_t)n;
    }
    int rc = certa_trustpoint_import(state, name, in, len, mode & 1);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "rc=%d %s\n", rc, rc < 0 ? certa_error_last() : "imported");
    /* An accepted CA replaces ca.pem: put ours back for the next input. */
    if (rc == 0 && (mode & 1))
        install_ca(name);
    OPENSSL_free(forged);
    return 0;
}
