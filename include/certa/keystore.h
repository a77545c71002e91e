/* The device keystore: labelled key pairs under STATE/keys/, each a PKCS#8
 * PEM file with mode 0600 in a 0700 directory. A label holds either one
 * general-purpose key pair or two "usage keys" (LABEL-sign for signatures,
 * LABEL-encr for encryption), as IOS's `crypto key generate rsa usage-keys`. */
#ifndef CERTA_KEYSTORE_H
#define CERTA_KEYSTORE_H

#include <time.h>
#include <openssl/evp.h>
#include "certa/key.h"

/* Default state directory when neither --state nor CERTA_STATE is given. */
#define CERTA_STATE_DEFAULT "/var/lib/certa"

enum certa_keystore_kind {
    CERTA_KEYSTORE_GENERAL = 0, /* one key pair for everything */
    CERTA_KEYSTORE_USAGE = 1,   /* LABEL-sign + LABEL-encr */
};

enum certa_keystore_role {
    CERTA_KEYROLE_ANY = 0,  /* general key, or the signing key of usage keys */
    CERTA_KEYROLE_SIGN = 1,
    CERTA_KEYROLE_ENCR = 2,
};

/* What a label holds. */
struct certa_keystore_entry {
    char label[65];
    enum certa_keystore_kind kind;
    time_t created;          /* mtime of the (signing) key file */
};

/* Labels: 1-64 of [A-Za-z0-9_-], not starting with '-'. A label may be
 * written "LABEL-sign"/"LABEL-encr" to name one half of usage keys. */
CERTA_API int certa_keystore_label_check(const char *label);

/* Generates a key pair (two with usage_keys) from spec (see
 * certa_key_generate). An existing label fails with CERTA_EEXIST unless
 * replace is set, in which case the old keys are zeroized first. */
CERTA_API int certa_keystore_generate(const char *state_dir, const char *label, const char *spec,
                                      int usage_keys, int replace);
/* Imports a private key (PEM or DER, PKCS#8 or traditional, or PKCS#12)
 * under label as a general-purpose key; role SIGN or ENCR imports one half
 * of usage keys. The key must pass certa_key_check_strength. */
CERTA_API int certa_keystore_import(const char *state_dir, const char *label, enum certa_keystore_role role,
                                    const unsigned char *data, size_t len, const char *passphrase, int replace);
/* Loads the key of a label (role ANY: the general key, or the signing key of
 * usage keys; "LABEL-sign"/"LABEL-encr" also work). CERTA_ENOTFOUND if none. */
CERTA_API int certa_keystore_load(const char *state_dir, const char *label, enum certa_keystore_role role,
                                  EVP_PKEY **out);
/* Describes a label; CERTA_ENOTFOUND if it holds no key. */
CERTA_API int certa_keystore_stat(const char *state_dir, const char *label, struct certa_keystore_entry *out);
/* All labels, sorted; *out is malloc'd (free()). */
CERTA_API int certa_keystore_list(const char *state_dir, struct certa_keystore_entry **out, size_t *count);
/* Writes the key of a label to path as PKCS#8 (see certa_key_save). */
CERTA_API int certa_keystore_export(const char *state_dir, const char *label, enum certa_keystore_role role,
                                    const char *path, certa_format fmt, const char *passphrase);
/* Zeroizes every key file of a label (both halves of usage keys). */
CERTA_API int certa_keystore_zeroize(const char *state_dir, const char *label);

#endif
