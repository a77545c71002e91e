/* Helpers shared by the `certa ca ...` commands: opening the CA directory
 * with an optional passphrase file, writing certificates as PEM, parsing
 * the --ttl and --uses of the one-time credentials. */
#ifndef CERTA_CA_CLI_H
#define CERTA_CA_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <openssl/x509.h>
#include "certa/ca.h"

struct cli_command;

/* After the options: 0 when no operand is left and --dir was given, else
 * the usage error (EXIT_USAGE) to return. */
int ca_cli_args_done(const struct cli_command *cmd, int argc, char **argv, const char *dir);
/* Opens DIR; the CA key passphrase comes from pass_file (first line), else
 * from CERTA_CA_PASSPHRASE. */
int ca_cli_open(const char *dir, const char *pass_file, int flags, certa_ca **out);
/* PEM of x (and chain, may be NULL) to path, or stdout for NULL/"-". */
int ca_cli_write_pem(X509 *x, STACK_OF(X509) *chain, const char *path);
/* ISO 8601 UTC of a Unix time into buf (at least 21 bytes). */
const char *ca_cli_time(int64_t t, char *buf, size_t len);
/* "valid", "revoked", "on-hold" or "expired" for a store row. */
const char *ca_cli_status(int status, int reason, int64_t not_after);
/* A lifetime: seconds or Ns, Nm, Nh, Nd, at most 100 years, into *out: 0,
 * else -1 (the caller words the usage error). */
int ca_cli_parse_ttl(const char *s, int64_t *out);
/* A --uses value: "unlimited" (-1) or a count in lo..hi, into *out: 0,
 * else -1. */
int ca_cli_parse_uses(const char *s, long lo, long hi, int *out);

#endif
