/* Public views of a key: SubjectPublicKeyInfo DER and its fingerprints, as
 * `show crypto key mypubkey` prints them. */
#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "certa/key.h"

int certa_key_public_der(const EVP_PKEY *key, certa_buf *out)
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(key, &der);
    if (len <= 0)
        return certa_error_ossl(CERTA_ECRYPTO, "cannot encode the public key");
    int rc = certa_buf_append(out, der, (size_t)len);
    OPENSSL_free(der);
    return rc;
}

int certa_key_fingerprint(const EVP_PKEY *key, const char *md, char *out, size_t out_len)
{
    certa_buf spki = { 0 };
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    int rc;
    if (md == NULL)
        md = "sha256";
    if (strcmp(md, "sha256") != 0 && strcmp(md, "sha1") != 0 && strcmp(md, "md5") != 0)
        return certa_error_set(CERTA_EUNSUPPORTED, "unsupported fingerprint digest '%s' (sha256, sha1, md5)", md);
    EVP_MD *alg = EVP_MD_fetch(NULL, md, NULL);
    if (alg == NULL)
        return certa_error_ossl(CERTA_EUNSUPPORTED, "digest %s is not available", md);
    if ((rc = certa_key_public_der(key, &spki)) < 0)
        goto out;
    if (!EVP_Digest(spki.data, spki.len, dig, &dlen, alg, NULL)) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot compute %s fingerprint", md);
        goto out;
    }
    if (out_len < 3 * (size_t)dlen) {
        rc = certa_error_set(CERTA_EINVAL, "fingerprint buffer too small");
        goto out;
    }
    certa_hex_colons(dig, dlen, out);
out:
    EVP_MD_free(alg);
    certa_buf_free(&spki);
    return rc;
}
