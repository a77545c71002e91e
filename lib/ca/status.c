/* Certificate status for OCSP: GOOD, REVOKED (with time and reason; a hold
 * is REVOKED with certificateHold) or UNKNOWN for serials never issued here. */
#include <string.h>
#include "certa/ca.h"

int certa_ca_status(certa_ca *ca, const unsigned char *serial, size_t len,
                    struct certa_cert_status *out)
{
    char hex[CERTA_SERIAL_HEX_MAX];
    struct certa_cert_row row;
    if (ca == NULL || serial == NULL || out == NULL)
        return certa_error_set(CERTA_EINVAL, "no CA, serial or output given");
    memset(out, 0, sizeof(*out));
    out->reason = CERTA_REASON_NONE;
    /* Unsigned magnitude (as ASN1_INTEGER keeps it); leading zero octets,
     * such as DER's padding of a positive serial, are ignored. */
    while (len > 0 && serial[0] == 0) {
        serial++;
        len--;
    }
    if (len == 0 || len > (CERTA_SERIAL_HEX_MAX - 2) / 2) {
        out->state = CERTA_STATE_UNKNOWN;   /* zero or oversized: never ours */
        return 0;
    }
    certa_hex_encode(serial, len, hex);
    const char *h = hex[0] == '0' ? hex + 1 : hex;   /* store form: no leading zero */
    int rc = certa_store_cert_get(certa_ca_store(ca), h, &row);
    if (rc == CERTA_ENOTFOUND) {
        out->state = CERTA_STATE_UNKNOWN;
        return 0;
    }
    if (rc != 0)
        return rc;
    out->not_after = row.not_after;
    if (row.status == CERTA_CERT_REVOKED) {
        out->state = CERTA_STATE_REVOKED;
        out->reason = row.reason;
        out->revoked_at = row.revoked_at;
    } else {
        out->state = CERTA_STATE_GOOD;
    }
    certa_cert_row_clear(&row);
    return 0;
}
