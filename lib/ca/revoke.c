/* Revocation: one serial, many serials in one transaction (all or nothing),
 * and the release of a hold. The CRL entry is encoded here, once, so that
 * CRL generation only concatenates stored entries. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ca/ca_internal.h"
#include "ca/crl.h"

static int check_reason(int reason)
{
    if (reason == CERTA_REASON_REMOVE_FROM_CRL)
        return certa_error_set(CERTA_EINVAL, "removeFromCRL is not a revocation reason; "
                               "release a hold with `certa ca unhold`");
    if (reason < CERTA_REASON_UNSPECIFIED || reason > CERTA_REASON_AA_COMPROMISE || reason == 7)
        return certa_error_set(CERTA_EINVAL, "revocation reason %d is not an RFC 5280 reason",
                               reason);
    return 0;
}

static int check_invalidity(int64_t invalidity_date, int64_t now)
{
    if (invalidity_date < 0 || invalidity_date > now)
        return certa_error_set(CERTA_EINVAL, "the invalidity date must not be in the future");
    return 0;
}

int certa_ca_revoke(certa_ca *ca, const char *serial, int reason, int64_t invalidity_date)
{
    char hex[CERTA_SERIAL_HEX_MAX];
    int64_t now = (int64_t)time(NULL);
    int rc;
    if (ca == NULL || serial == NULL)
        return certa_error_set(CERTA_EINVAL, "no CA or serial given");
    if ((rc = check_reason(reason)) != 0 || (rc = check_invalidity(invalidity_date, now)) != 0 ||
        (rc = certa_serial_normalize(serial, hex, sizeof(hex))) != 0)
        return rc;
    if ((rc = certa_crl_store_revoke(certa_ca_store(ca), hex, reason, now, invalidity_date)) != 0)
        return rc;
    certa_ca_notify_revoked(ca, hex);
    return 0;
}

int certa_ca_revoke_many(certa_ca *ca, const char *const *serials, size_t n, int reason,
                         size_t *failed_index)
{
    certa_store *s;
    char hex[CERTA_SERIAL_HEX_MAX];
    int64_t now = (int64_t)time(NULL);
    size_t i;
    int rc;
    if (ca == NULL || (serials == NULL && n > 0))
        return certa_error_set(CERTA_EINVAL, "no CA or serials given");
    if ((rc = check_reason(reason)) != 0)
        return rc;
    s = certa_ca_store(ca);
    if ((rc = certa_store_begin(s)) != 0)
        return rc;
    for (i = 0; i < n; i++) {
        if ((rc = certa_serial_normalize(serials[i], hex, sizeof(hex))) != 0 ||
            (rc = certa_crl_store_revoke(s, hex, reason, now, 0)) != 0) {
            if (failed_index != NULL)
                *failed_index = i;
            /* Keep the message of the failing serial across the rollback. */
            char msg[512];
            snprintf(msg, sizeof(msg), "%s", certa_error_last());
            certa_store_rollback(s);
            return certa_error_set(rc, "serial %zu of %zu: %s; nothing was revoked", i + 1, n,
                                   msg);
        }
    }
    if ((rc = certa_store_commit(s)) != 0)
        return rc;
    for (i = 0; i < n; i++)
        if (certa_serial_normalize(serials[i], hex, sizeof(hex)) == 0)
            certa_ca_notify_revoked(ca, hex);
    return 0;
}

int certa_ca_release_hold(certa_ca *ca, const char *serial)
{
    char hex[CERTA_SERIAL_HEX_MAX];
    int rc;
    if (ca == NULL || serial == NULL)
        return certa_error_set(CERTA_EINVAL, "no CA or serial given");
    if ((rc = certa_serial_normalize(serial, hex, sizeof(hex))) != 0 ||
        (rc = certa_store_cert_release_hold(certa_ca_store(ca), hex, (int64_t)time(NULL))) != 0)
        return rc;
    certa_ca_notify_revoked(ca, hex);
    return 0;
}
