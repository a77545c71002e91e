/* SubjectPublicKeyInfo pieces handled without OpenSSL 3.0's provider
 * decoders and encoders, which build a fresh context per key: the
 * SubjectPublicKeyInfo itself and RSAPublicKey (RFC 8017 A.1.1) as
 * templates, and an X509_PUBKEY set from an algorithm and key bits without
 * decoding them. Shared by lib/crypto/key_spki.c,
 * lib/crypto/csr_view.c and lib/ca/spki.c. */
#ifndef CERTA_SPKI_PARTS_H
#define CERTA_SPKI_PARTS_H

#include <openssl/asn1t.h>
#include <openssl/x509.h>

/* SubjectPublicKeyInfo as algorithm and key bits, the key left undecoded. */
typedef struct {
    X509_ALGOR *algor;
    ASN1_BIT_STRING *bits;
} CERTA_SPKI_PARTS;
DECLARE_ASN1_ITEM(CERTA_SPKI_PARTS)

typedef struct {
    ASN1_INTEGER *n, *e;
} CERTA_RSA_PUB;
DECLARE_ASN1_ITEM(CERTA_RSA_PUB)

/* dst's algorithm and key bits become copies of alg and bits[0..len);
 * dst holds no decoded key afterwards (X509_PUBKEY_get0 of it is NULL),
 * which is all that encoding it or copying it into a certificate needs.
 * 1 on success, 0 when out of memory. */
int certa_spki_set_parts(X509_PUBKEY *dst, const X509_ALGOR *alg, const unsigned char *bits, int len);

#endif
