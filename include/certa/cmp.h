/* CMP (RFC 4210/9810, Lightweight CMP RFC 9483): the shared secrets that
 * MAC-protected (PBM) requests are checked with, and the certad service.
 * PBM needs the secret itself on the server, so secrets are kept encrypted
 * (AES-256-GCM, key in DIR/cmp-secret.key, mode 0600), never hashed. */
#ifndef CERTA_CMP_H
#define CERTA_CMP_H

#include <stddef.h>
#include <stdint.h>
#include "certa/ca.h"
#include "certa/service.h"

#define CERTA_CMP_SECRET_KIND "cmp-secret"
#define CERTA_CMP_REF_MAX 64
#define CERTA_CMP_SECRET_MAX 128

struct certa_cmp_secret_params {
    const char *subject_pattern;   /* fnmatch pattern on the DN text, NULL: any */
    int uses;                      /* 1 by default; -1 unlimited */
    int64_t ttl;                   /* seconds; 0: never expires */
};

/* Creates a fresh reference value and secret (printable, for the device's
 * `-ref`/`-secret`), stores the secret encrypted. Creates the key file on
 * first use. ref and secret receive NUL-terminated text. */
CERTA_API int certa_cmp_secret_create(certa_ca *ca, const struct certa_cmp_secret_params *p,
                                      char ref[CERTA_CMP_REF_MAX + 1],
                                      char secret[CERTA_CMP_SECRET_MAX + 1]);

/* The secret for ref, decrypted (*secret malloc'd, *len set; wipe and free
 * it), with its row (subject pattern, uses left, expiry) when row is not
 * NULL. CERTA_ENOTFOUND for an unknown ref; CERTA_ECRYPTO when it does not
 * decrypt (wrong key file). Does not consume a use. */
CERTA_API int certa_cmp_secret_get(certa_ca *ca, const char *ref, unsigned char **secret, size_t *len,
                                   struct certa_secret_row *row);

/* The certad module: /cmp, /.well-known/cmp, /.well-known/cmp/p/PROFILE. */
extern CERTA_API const struct certa_service certa_service_cmp;

#endif
