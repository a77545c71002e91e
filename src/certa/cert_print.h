/* A certificate shown as IOS's `show crypto ca certificates` lists it
 * (serial, subject, issuer, validity, fingerprints): used by `ca
 * authenticate` and `ca rollover`. */
#ifndef CERTA_CERT_PRINT_H
#define CERTA_CERT_PRINT_H

#include <openssl/x509.h>

void cli_print_cert(const char *role, X509 *x);

#endif
