/* The rollover CA ([ca] next_ca_cert): the CA certificate that will follow
 * the current one, with the optional cross certificates of a root key
 * update (RFC 4210 4.4). SCEP's GetNextCACert and CMP's root CA update
 * both serve it; it is checked once, when a service starts. */
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "ca_internal.h"

#define NEXT_CA_FILE_MAX (256 * 1024)

int certa_ca_read_cert_file(const certa_ca *ca, const char *file, X509 **out)
{
    char path[4096];
    certa_buf buf = { 0 };
    *out = NULL;
    if (file[0] == '/')
        snprintf(path, sizeof(path), "%s", file);
    else
        snprintf(path, sizeof(path), "%s/%s", certa_ca_dir(ca), file);
    int rc = certa_file_read(path, NEXT_CA_FILE_MAX, &buf);
    if (rc < 0)
        return rc;
    BIO *b = BIO_new_mem_buf(buf.data, (int)buf.len);
    *out = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (*out == NULL) {
        const unsigned char *p = buf.data;
        ERR_clear_error();
        *out = d2i_X509(NULL, &p, (long)buf.len);
    }
    certa_buf_free(&buf);
    if (*out == NULL)
        return certa_error_ossl(CERTA_EINVAL, "%s is not a certificate", path);
    return 0;
}

/* A certificate of the key `subject_key`, signed by `signer_key`. */
static int check_link(const char *what, X509 *x, EVP_PKEY *subject_key, EVP_PKEY *signer_key)
{
    if (EVP_PKEY_eq(X509_get0_pubkey(x), subject_key) != 1)
        return certa_error_set(CERTA_EINVAL, "[ca] %s does not carry the expected public key", what);
    if (X509_verify(x, signer_key) != 1) {
        ERR_clear_error();
        return certa_error_set(CERTA_EINVAL, "[ca] %s is not signed by the expected CA key", what);
    }
    if (X509_cmp_time(X509_get0_notAfter(x), NULL) <= 0)
        return certa_error_set(CERTA_EINVAL, "[ca] %s has expired", what);
    return 0;
}

int certa_ca_next_load(const certa_ca *ca, const char *file, const char *cross, const char *old_with_new,
                       struct certa_ca_next *out)
{
    int rc;
    memset(out, 0, sizeof(*out));
    if (file == NULL || !file[0]) {
        if ((cross && cross[0]) || (old_with_new && old_with_new[0]))
            return certa_error_set(CERTA_EINVAL, "[ca] next_ca_cross_cert and next_ca_old_with_new need "
                                   "[ca] next_ca_cert");
        return 0;
    }
    if ((rc = certa_ca_read_cert_file(ca, file, &out->cert)) < 0)
        goto fail;
    X509 *next = out->cert, *cur = certa_ca_cert(ca);
    /* X509_check_ca also sets the self-signed flags X509_self_signed reads. */
    if (X509_check_ca(next) < 1) {
        rc = certa_error_set(CERTA_EINVAL, "[ca] next_ca_cert %s is not a CA certificate", file);
        goto fail;
    }
    if (X509_self_signed(next, 1) != 1) {
        ERR_clear_error();
        rc = certa_error_set(CERTA_EINVAL, "[ca] next_ca_cert %s is not self-signed (a root CA update "
                             "needs the new root)", file);
        goto fail;
    }
    if (X509_cmp_time(X509_get0_notAfter(next), NULL) <= 0) {
        rc = certa_error_set(CERTA_EINVAL, "[ca] next_ca_cert %s has expired", file);
        goto fail;
    }
    if (X509_cmp(next, cur) == 0) {
        rc = certa_error_set(CERTA_EINVAL, "[ca] next_ca_cert %s is the current CA certificate", file);
        goto fail;
    }
    if (cross && cross[0]) {
        if ((rc = certa_ca_read_cert_file(ca, cross, &out->new_with_old)) < 0 ||
            (rc = check_link("next_ca_cross_cert (newWithOld)", out->new_with_old, X509_get0_pubkey(next),
                             X509_get0_pubkey(cur))) < 0)
            goto fail;
    }
    if (old_with_new && old_with_new[0]) {
        if ((rc = certa_ca_read_cert_file(ca, old_with_new, &out->old_with_new)) < 0 ||
            (rc = check_link("next_ca_old_with_new (oldWithNew)", out->old_with_new, X509_get0_pubkey(cur),
                             X509_get0_pubkey(next))) < 0)
            goto fail;
    }
    return 0;
fail:
    certa_ca_next_clear(out);
    return rc;
}

void certa_ca_next_clear(struct certa_ca_next *n)
{
    X509_free(n->cert);
    X509_free(n->new_with_old);
    X509_free(n->old_with_new);
    memset(n, 0, sizeof(*n));
}
