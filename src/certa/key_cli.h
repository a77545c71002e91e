/* Helpers shared by the key, csr, trustpoint and enroll commands: reading a
 * passphrase file and printing a public key the way `show crypto key
 * mypubkey` does. */
#ifndef CERTA_KEY_CLI_H
#define CERTA_KEY_CLI_H

#include <stdio.h>
#include <openssl/evp.h>

/* Reads the first line of path (at most 1023 bytes, trailing CR/LF
 * stripped) into a malloc'd string; free it with key_cli_passphrase_free. */
int key_cli_read_passphrase(const char *path, char **out);
/* Overwrites and frees a passphrase (NULL is a no-op). */
void key_cli_passphrase_free(char *pass);
/* Prints "Type :..", "Size :..", "Data :" (SPKI DER in rows of eight
 * 4-byte hex groups) and the SHA-256 fingerprint. */
int key_cli_print_public(FILE *f, const EVP_PKEY *key);
/* The human type of a key: "RSA", "EC P-256", "Ed25519". */
const char *key_cli_type_text(const EVP_PKEY *key, char *buf, size_t len);

/* The state directory: --state, CERTA_STATE, or CERTA_STATE_DEFAULT. */
const char *cli_state_dir(void);

#endif
