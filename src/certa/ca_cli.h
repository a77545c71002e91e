/* Helpers shared by the `certa ca ...` commands: opening the CA directory
 * with an optional passphrase file, writing certificates as PEM. */
#ifndef CERTA_CA_CLI_H
#define CERTA_CA_CLI_H

#include <stdio.h>
#include <openssl/x509.h>
#include "certa/ca.h"

/* Opens DIR; the CA key passphrase comes from pass_file (first line), else
 * from CERTA_CA_PASSPHRASE. */
int ca_cli_open(const char *dir, const char *pass_file, int flags, certa_ca **out);
/* PEM of x (and chain, may be NULL) to path, or stdout for NULL/"-". */
int ca_cli_write_pem(X509 *x, STACK_OF(X509) *chain, const char *path);
/* ISO 8601 UTC of a Unix time into buf (at least 21 bytes). */
const char *ca_cli_time(int64_t t, char *buf, size_t len);
/* "valid", "revoked", "on-hold" or "expired" for a store row. */
const char *ca_cli_status(int status, int reason, int64_t not_after);

#endif
