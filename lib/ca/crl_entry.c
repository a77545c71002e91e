/* One CRL entry, encoded once when the certificate is revoked (OpenSSL's
 * i2d_X509_REVOKED) and stored with the revocation, so that building a CRL
 * only concatenates stored entries. */
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include "ca/crl.h"

int certa_crl_entry_encode(const char *serial_hex, int64_t revoked_at, int reason,
                           int64_t invalidity_date, certa_buf *out)
{
    int rc = CERTA_ECRYPTO, len;
    X509_REVOKED *r = X509_REVOKED_new();
    BIGNUM *bn = NULL;
    ASN1_INTEGER *serial = NULL;
    ASN1_TIME *when = NULL;
    ASN1_ENUMERATED *code = NULL;
    ASN1_GENERALIZEDTIME *inval = NULL;
    unsigned char *p;

    if (r == NULL || BN_hex2bn(&bn, serial_hex) == 0 ||
        (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
        !X509_REVOKED_set_serialNumber(r, serial) ||
        (when = ASN1_TIME_set(NULL, (time_t)revoked_at)) == NULL ||
        !X509_REVOKED_set_revocationDate(r, when)) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "encoding CRL entry for %s", serial_hex);
        goto out;
    }
    if (reason > CERTA_REASON_UNSPECIFIED) {
        if ((code = ASN1_ENUMERATED_new()) == NULL || !ASN1_ENUMERATED_set(code, reason) ||
            X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, code, 0, 0) != 1) {
            rc = certa_error_ossl(CERTA_ECRYPTO, "encoding reason code");
            goto out;
        }
    }
    if (invalidity_date > 0) {
        if ((inval = ASN1_GENERALIZEDTIME_set(NULL, (time_t)invalidity_date)) == NULL ||
            X509_REVOKED_add1_ext_i2d(r, NID_invalidity_date, inval, 0, 0) != 1) {
            rc = certa_error_ossl(CERTA_ECRYPTO, "encoding invalidity date");
            goto out;
        }
    }
    if ((len = i2d_X509_REVOKED(r, NULL)) <= 0) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "encoding CRL entry");
        goto out;
    }
    if ((rc = certa_buf_reserve(out, (size_t)len)) != 0)
        goto out;
    p = out->data + out->len;
    i2d_X509_REVOKED(r, &p);
    out->len += (size_t)len;
    rc = 0;
out:
    X509_REVOKED_free(r);
    BN_free(bn);
    ASN1_INTEGER_free(serial);
    ASN1_TIME_free(when);
    ASN1_ENUMERATED_free(code);
    ASN1_GENERALIZEDTIME_free(inval);
    return rc;
}

int certa_crl_store_revoke(certa_store *s, const char *serial_hex, int reason, int64_t when,
                           int64_t invalidity_date)
{
    certa_buf entry = { 0 };
    int rc = certa_crl_entry_encode(serial_hex, when, reason, invalidity_date, &entry);
    if (rc == 0)
        rc = certa_store_cert_revoke(s, serial_hex, reason, when, invalidity_date,
                                     entry.data, entry.len);
    certa_buf_free(&entry);
    return rc;
}
