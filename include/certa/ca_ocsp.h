/* Delegated OCSP signing (RFC 6960 4.2.2.2): a certificate with
 * id-kp-OCSPSigning and id-pkix-ocsp-nocheck issued by the CA through its
 * pipeline, kept in the CA directory as ocsp.key (0600) and ocsp.crt, and
 * used by certad's OCSP responder when present. */
#ifndef CERTA_CA_OCSP_H
#define CERTA_CA_OCSP_H

#include <openssl/x509.h>
#include "certa/ca.h"

/* The profile the signer is issued under. Manual approval, so that no
 * enrollment protocol can obtain one; the operator's command preapproves. */
#define CERTA_OCSP_SIGNER_PROFILE "ocsp-signer"

/* Appends [profile ocsp-signer] to DIR/ca.conf when it has none (atomic
 * rewrite). Returns 1 when added, 0 when already there. Reopen the CA to
 * see it. */
CERTA_API int certa_ca_ocsp_signer_profile_add(const char *dir);

/* Issues the signer for key (NULL: a fresh ec:p256 key) valid for days
 * (capped by the profile and the CA), records it, writes DIR/ocsp.key
 * (0600) then DIR/ocsp.crt. cert_out (may be NULL) receives the
 * certificate. The caller keeps key. */
CERTA_API int certa_ca_ocsp_signer_issue(certa_ca *ca, EVP_PKEY *key, int days, X509 **cert_out);

#endif
