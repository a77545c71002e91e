/* The one place a signed certificate becomes a store row: the issuance
 * pipeline, CA initialisation (intermediates) and protocol infrastructure
 * certificates (a SCEP RA certificate) all record through here, so every
 * certificate the CA key signed can be listed, revoked and answered by OCSP. */
#include <stdlib.h>
#include <string.h>
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

int certa_ca_cert_row_fill(X509 *x, struct certa_cert_row *row)
{
    memset(row, 0, sizeof(*row));
    int rc = certa_serial_hex(X509_get0_serialNumber(x), row->serial);
    if (rc < 0)
        return rc;
    row->issued_at = (int64_t)time(NULL);
    row->not_before = unix_time(X509_get0_notBefore(x), row->issued_at);
    row->not_after = unix_time(X509_get0_notAfter(x), row->issued_at);
    row->status = CERTA_CERT_VALID;
    row->reason = CERTA_REASON_NONE;
    row->subject = certa_name_text(X509_get_subject_name(x));
    int len = i2d_X509(x, NULL);
    unsigned char *p = len > 0 ? malloc((size_t)len) : NULL;
    row->der = p;
    if (row->subject == NULL || p == NULL || i2d_X509(x, &p) != len) {
        certa_cert_row_clear(row);
        return certa_error_ossl(CERTA_ENOMEM, "encoding the certificate");
    }
    row->der_len = (size_t)len;
    return 0;
}

int certa_ca_record_row(certa_ca *ca, struct certa_cert_row *row, const char *profile, int64_t request_id)
{
    row->profile = (char *)profile;
    row->request_id = request_id;
    int rc = certa_store_cert_insert(ca->store, row);
    row->profile = NULL;    /* not the row's: certa_cert_row_clear must not free it */
    return rc;
}

int certa_ca_record_cert(certa_ca *ca, X509 *x, const char *profile, int64_t request_id)
{
    struct certa_cert_row row;
    int rc = certa_ca_cert_row_fill(x, &row);
    if (rc < 0)
        return rc;
    rc = certa_ca_record_row(ca, &row, profile, request_id);
    certa_cert_row_clear(&row);
    return rc;
}
