/* Private keys: generation, PKCS#8 files (PEM or DER, optionally encrypted,
 * mode 0600), public-key display and zeroization. Thin over OpenSSL EVP. */
#ifndef CERTA_KEY_H
#define CERTA_KEY_H

#include <openssl/evp.h>
#include "certa/util.h"

typedef enum certa_format { CERTA_FORMAT_PEM = 0, CERTA_FORMAT_DER = 1 } certa_format;

/* Generates a key from a spec: "ec:p256" (default for "ec"), "ec:p384",
 * "rsa:BITS" with 2048 <= BITS <= 4096 ("rsa" = rsa:2048), "ed25519".
 * Anything else fails with CERTA_EUNSUPPORTED naming the spec. */
CERTA_API int certa_key_generate(const char *spec, EVP_PKEY **out);
/* The spec of an existing key ("rsa:2048", "ec:p256", "ed25519") into out. */
CERTA_API int certa_key_spec(const EVP_PKEY *key, char *out, size_t out_len);
/* Checks a key against certa's floor: RSA >= 2048 bits, EC on P-256/P-384/
 * P-521, Ed25519. Returns CERTA_EPOLICY with a message naming the key. */
CERTA_API int certa_key_check_strength(const EVP_PKEY *key);

/* Writes the private key as PKCS#8 (encrypted with AES-256-CBC/PBKDF2 when
 * passphrase is non-NULL), atomically, mode 0600. */
CERTA_API int certa_key_save(const EVP_PKEY *key, const char *path, certa_format fmt,
                             const char *passphrase);
/* Loads a private key in PEM or DER, plain or encrypted PKCS#8 (also the
 * traditional PEM forms). A wrong or missing passphrase is CERTA_EPASS. */
CERTA_API int certa_key_load(const char *path, const char *passphrase, EVP_PKEY **out);
CERTA_API int certa_key_load_mem(const unsigned char *data, size_t len,
                                 const char *passphrase, EVP_PKEY **out);

/* A SubjectPublicKeyInfo (DER) into a public key, RSA without OpenSSL 3.0's
 * per-call decoder context. CERTA_EINVAL when it is not one (trailing
 * bytes included). */
CERTA_API int certa_key_from_spki(const unsigned char *der, size_t len, EVP_PKEY **out);
/* SubjectPublicKeyInfo DER of the key's public half. */
CERTA_API int certa_key_public_der(const EVP_PKEY *key, certa_buf *out);
/* Digest (md = "sha256", "sha1", "md5") of the SubjectPublicKeyInfo DER, as
 * colon-separated uppercase hex into out (at least 3*64 bytes). */
CERTA_API int certa_key_fingerprint(const EVP_PKEY *key, const char *md, char *out, size_t out_len);

/* Overwrites the file's bytes (random, then zeros), fsyncs, then unlinks. */
CERTA_API int certa_key_zeroize_file(const char *path);

#endif
