/* Internal to lib/ca: the parts of revocation and CRL building that need
 * no CA handle (a store, a key and a certificate), so the revocation code,
 * the tests and the benchmark generator share one encoder. */
#ifndef CERTA_CA_CRL_H
#define CERTA_CA_CRL_H

#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "certa/store.h"
#include "certa/util.h"

/* Appends the DER of one revokedCertificates entry (i2d_X509_REVOKED):
 * serial (lowercase hex), revocationDate, reasonCode (absent for
 * unspecified, as RFC 5280 recommends), invalidityDate when non-zero. */
int certa_crl_entry_encode(const char *serial_hex, int64_t revoked_at, int reason,
                           int64_t invalidity_date, certa_buf *out);

/* Revokes a normalized serial in the store with its pre-encoded entry. */
int certa_crl_store_revoke(certa_store *s, const char *serial_hex, int reason, int64_t when,
                           int64_t invalidity_date);

struct certa_crl_params {
    X509 *issuer;               /* the CA certificate */
    EVP_PKEY *key;              /* its key */
    const EVP_MD *md;           /* NULL for Ed25519/Ed448 */
    int64_t this_update, next_update;
    int64_t number;             /* cRLNumber */
    int64_t delta_base;         /* base CRL number of a delta; -1 for a full CRL */
    const char *idp_url;        /* Issuing Distribution Point, or NULL */
};

/* Streams the store's revocations (since_seq 0: full; else changes after it)
 * into a signed CRL in der (which must be empty). max_seq gets the sequence
 * value the CRL reflects. Memory: the output plus a constant. */
int certa_crl_build(certa_store *s, const struct certa_crl_params *p, int64_t since_seq,
                    certa_buf *der, int64_t *max_seq);

#endif
