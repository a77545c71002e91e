/* The one place a signed certificate becomes a store row: the issuance
 * pipeline, CA initialisation (intermediates) and protocol infrastructure
 * certificates (a SCEP RA certificate) all record through here, so every
 * certificate the CA key signed can be listed, revoked and answered by OCSP. */
#include <stdlib.h>
#include <time.h>
#include "certa/csr.h"
#include "ca_internal.h"

/* A certificate time as Unix seconds, relative to now as OpenSSL measures it. */
static int64_t unix_time(const ASN1_TIME *t, int64_t now)
{
    int day = 0, sec = 0;
    ASN1_TIME_diff(&day, &sec, NULL, t);
    return now + (int64_t)day * 86400 + sec;
}

int certa_ca_record_cert(certa_ca *ca, X509 *x, const char *profile, int64_t request_id)
{
    struct certa_cert_row row = { 0 };
    int rc = certa_serial_hex(X509_get0_serialNumber(x), row.serial);
    if (rc < 0)
        return rc;
    row.subject = certa_name_text(X509_get_subject_name(x));
    row.profile = (char *)profile;
    row.request_id = request_id;
    row.issued_at = (int64_t)time(NULL);
    row.not_before = unix_time(X509_get0_notBefore(x), row.issued_at);
    row.not_after = unix_time(X509_get0_notAfter(x), row.issued_at);
    row.status = CERTA_CERT_VALID;
    row.reason = CERTA_REASON_NONE;
    int len = i2d_X509(x, &row.der);
    if (row.subject == NULL || len <= 0) {
        rc = certa_error_ossl(CERTA_ENOMEM, "encoding the certificate");
    } else {
        row.der_len = (size_t)len;
        rc = certa_store_cert_insert(ca->store, &row);
    }
    free(row.subject);
    OPENSSL_free(row.der);
    return rc;
}
