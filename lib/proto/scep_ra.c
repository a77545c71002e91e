/* The SCEP RA certificate: SCEP envelopes need an RSA recipient, so a CA
 * whose key is EC or EdDSA gets an RSA key-management certificate of its
 * own (digitalSignature + keyEncipherment, CA:FALSE), kept next to the CA
 * as scep-ra.key (0600) and scep-ra.crt and reused across restarts. Its
 * extensions are fixed here rather than taken from a device profile, and
 * it is recorded in the store like every certificate the CA signs, so CRL,
 * OCSP and `certa ca list` know it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include "certa/csr.h"
#include "certa/key.h"
#include "certa/log.h"
#include "scep_internal.h"

#define RA_CERT_MAX (64 * 1024)
#define SERIAL_RETRIES 8

static void paths(certa_ca *ca, char *key, char *crt, size_t len)
{
    snprintf(key, len, "%s/scep-ra.key", certa_ca_dir(ca));
    snprintf(crt, len, "%s/scep-ra.crt", certa_ca_dir(ca));
}

/* The existing pair when it belongs to this CA and has time left. */
static int load_existing(certa_ca *ca, const char *kpath, const char *cpath, int renew_days,
                         X509 **cert, EVP_PKEY **key)
{
    certa_buf buf = { 0 };
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    int ok = 0;
    if (certa_file_read(cpath, RA_CERT_MAX, &buf) < 0 || certa_key_load(kpath, NULL, &k) < 0)
        goto out;
    BIO *b = BIO_new_mem_buf(buf.data, (int)buf.len);
    x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    time_t limit = time(NULL) + (time_t)renew_days * 86400;
    ok = x != NULL && X509_check_private_key(x, k) == 1 && EVP_PKEY_is_a(k, "RSA") &&
         X509_check_issued(certa_ca_cert(ca), x) == X509_V_OK &&
         X509_verify(x, X509_get0_pubkey(certa_ca_cert(ca))) == 1 &&
         X509_cmp_time(X509_get0_notAfter(x), &limit) > 0;
out:
    ERR_clear_error();
    certa_buf_free(&buf);
    if (ok) {
        *cert = x;
        *key = k;
        return 1;
    }
    X509_free(x);
    EVP_PKEY_free(k);
    return 0;
}

/* The CA's subject with its CN replaced by "<CA CN> SCEP RA". */
static X509_NAME *ra_name(X509 *ca_cert)
{
    X509_NAME *n = X509_NAME_dup(X509_get_subject_name(ca_cert));
    char cn[128] = "certa";
    if (n == NULL)
        return NULL;
    X509_NAME_get_text_by_NID(n, NID_commonName, cn, sizeof(cn));
    for (int i; (i = X509_NAME_get_index_by_NID(n, NID_commonName, -1)) >= 0; )
        X509_NAME_ENTRY_free(X509_NAME_delete_entry(n, i));
    char ra[160];
    snprintf(ra, sizeof(ra), "%.120s SCEP RA", cn);
    if (!X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8, (unsigned char *)ra, -1, -1, 0)) {
        X509_NAME_free(n);
        return NULL;
    }
    return n;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok = e != NULL && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

static int build(certa_ca *ca, EVP_PKEY *key, int days, X509 **out, char serial_hex[CERTA_SERIAL_HEX_MAX])
{
    X509 *cacert = certa_ca_cert(ca);
    X509 *x = X509_new();
    X509_NAME *name = ra_name(cacert);
    BIGNUM *bn = BN_new();
    unsigned char rnd[16];
    int rc = 0;
    if (x == NULL || name == NULL || bn == NULL || RAND_bytes(rnd, sizeof(rnd)) != 1) {
        rc = certa_error_ossl(CERTA_ENOMEM, "building the RA certificate");
        goto out;
    }
    rnd[0] &= 0x7f;
    rnd[0] |= 0x40; /* positive, full length */
    BN_bin2bn(rnd, sizeof(rnd), bn);
    char *hex = BN_bn2hex(bn);
    if (hex == NULL) {
        rc = certa_error_ossl(CERTA_ENOMEM, "building the RA certificate");
        goto out;
    }
    certa_serial_normalize(hex, serial_hex, CERTA_SERIAL_HEX_MAX);
    OPENSSL_free(hex);
    time_t now = time(NULL);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cacert, x, NULL, NULL, 0);
    int ok = X509_set_version(x, 2) && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
             X509_set_issuer_name(x, X509_get_subject_name(cacert)) && X509_set_subject_name(x, name) &&
             X509_set_pubkey(x, key) && X509_time_adj(X509_getm_notBefore(x), -300, &now) &&
             X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &now);
    /* Never beyond the CA itself. */
    if (ok && ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(cacert)) > 0)
        ok = X509_set1_notAfter(x, X509_get0_notAfter(cacert));
    ok = ok && add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
         add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
         add_ext(x, &ctx, NID_subject_key_identifier, "hash") &&
         add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
    EVP_PKEY *cakey = certa_ca_key(ca);
    const EVP_MD *md = (EVP_PKEY_is_a(cakey, "ED25519") || EVP_PKEY_is_a(cakey, "ED448")) ? NULL : EVP_sha256();
    if (!ok || X509_sign(x, cakey, md) <= 0) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "signing the RA certificate");
        goto out;
    }
    *out = x;
    x = NULL;
out:
    X509_free(x);
    X509_NAME_free(name);
    BN_free(bn);
    return rc;
}

int scep_ra_load_or_create(certa_ca *ca, const char *key_spec, int days, int renew_days,
                           X509 **cert, EVP_PKEY **key)
{
    char kpath[4096], cpath[4096];
    EVP_PKEY *k = NULL;
    X509 *x = NULL;
    BIO *b = NULL;
    int rc;
    *cert = NULL;
    *key = NULL;
    paths(ca, kpath, cpath, sizeof(kpath));
    if (load_existing(ca, kpath, cpath, renew_days, cert, key))
        return 0;
    if (certa_ca_key(ca) == NULL)
        return certa_error_set(CERTA_ESTATE, "the CA was opened without its key: cannot issue the SCEP RA certificate");
    if ((rc = certa_key_generate(key_spec, &k)) < 0)
        goto out;
    if (!EVP_PKEY_is_a(k, "RSA")) {
        rc = certa_error_set(CERTA_EINVAL, "[scep] ra_key must be an RSA key (rsa:BITS), not %s", key_spec);
        goto out;
    }
    char serial[CERTA_SERIAL_HEX_MAX];
    for (int attempt = 0; attempt < SERIAL_RETRIES; attempt++) {
        X509_free(x);
        x = NULL;
        if ((rc = build(ca, k, days, &x, serial)) < 0)
            goto out;
        if ((rc = certa_ca_record_cert(ca, x, "scep-ra", 0)) != CERTA_EEXIST)
            break;
    }
    if (rc < 0)
        goto out;
    /* Key first: a certificate file never names a key that is not there. */
    if ((rc = certa_key_save(k, kpath, CERTA_FORMAT_PEM, NULL)) < 0)
        goto out;
    char *data;
    if ((b = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(b, x)) {
        rc = certa_error_ossl(CERTA_ENOMEM, "encoding the RA certificate");
        goto out;
    }
    long n = BIO_get_mem_data(b, &data);
    if ((rc = certa_file_write_atomic(cpath, data, (size_t)n, 0644)) < 0)
        goto out;
    certa_log(CERTA_LOG_INFO, "scep: issued the RA certificate serial=%s (%s)", serial, cpath);
    *cert = x;
    *key = k;
    x = NULL;
    k = NULL;
out:
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}
