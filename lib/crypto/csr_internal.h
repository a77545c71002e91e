/* Shared by lib/crypto/csr*.c: reading a CSR's challengePassword attribute
 * the same way for an X509_REQ and for a certa_csr_view. */
#ifndef CERTA_CSR_INTERNAL_H
#define CERTA_CSR_INTERNAL_H

#include <openssl/x509.h>

/* The attribute's value as UTF-8 (OPENSSL_free), or NULL when absent,
 * not a string type, or with an embedded NUL. */
char *certa_csr_challenge_attr(const X509_ATTRIBUTE *attr);

#endif
