/* PKCS#10 requests and the text forms of names: building a CSR from a key and
 * parameters, parsing one from PEM or DER with its signature checked. */
#ifndef CERTA_CSR_H
#define CERTA_CSR_H

#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "certa/util.h"

/* The seeds' `key-usage { ike | ssl-client | ssl-server }`. */
enum certa_usage {
    CERTA_USAGE_IKE = 1 << 0,        /* id-kp-ipsecIKE */
    CERTA_USAGE_SSL_CLIENT = 1 << 1, /* id-kp-clientAuth */
    CERTA_USAGE_SSL_SERVER = 1 << 2, /* id-kp-serverAuth */
};

/* Parses "ike,ssl-client,ssl-server" into CERTA_USAGE_* flags. */
CERTA_API int certa_usage_parse(const char *list, unsigned *flags);

struct certa_csr_params {
    const char *subject;             /* DN text, see certa_name_parse */
    const char *const *sans;         /* "dns:NAME", "ip:ADDR", "email:X", "uri:U" */
    size_t san_count;
    unsigned usages;                 /* CERTA_USAGE_* as an EKU request */
    const char *challenge;           /* challengePassword attribute, or NULL */
    const char *digest;              /* "sha256" (default), "sha384", "sha512" */
    int legacy;                      /* also allow "sha1" and "md5" (old CAs only) */
};

/* Builds and signs a CSR with key (takes no ownership). */
CERTA_API int certa_csr_create(EVP_PKEY *key, const struct certa_csr_params *p, X509_REQ **out);
/* Parses PEM or DER; fails with CERTA_EINVAL when malformed or truncated and
 * CERTA_ECRYPTO when the self-signature does not verify. max_len bounds input. */
CERTA_API int certa_csr_parse(const unsigned char *data, size_t len, X509_REQ **out);
/* The challengePassword attribute, or NULL; caller frees with OPENSSL_free. */
CERTA_API char *certa_csr_challenge(const X509_REQ *req);
CERTA_API int certa_csr_write(const X509_REQ *req, const char *path, int der);

/* A PKCS#10 request parsed for a protocol that already holds a decoded key
 * that is usually the request's own (SCEP: the signer certificate's):
 * when the request's SubjectPublicKeyInfo has the same bytes as known_spki,
 * known_key is used instead of decoding it again (OpenSSL 3.0 decodes a
 * key through a fresh decoder context, a large share of a request's cost);
 * another key is decoded. Fails as certa_csr_parse does: CERTA_EINVAL when
 * malformed or truncated, CERTA_ECRYPTO when the signature does not verify,
 * CERTA_ETOOBIG over 64 KiB. known_key (may be NULL) must outlive the view. */
struct certa_csr_view {
    void *asn1;                     /* the decoded request (owned) */
    X509_NAME *subject;             /* borrowed from asn1 */
    EVP_PKEY *pubkey;               /* known_key, or own_spki's */
    const X509_PUBKEY *spki;        /* own_spki: for the certificate */
    X509_PUBKEY *own_spki;          /* the request's SubjectPublicKeyInfo; with
                                       the known key, algorithm and bits only */
    const STACK_OF(X509_ATTRIBUTE) *attrs; /* borrowed from asn1, may be NULL */
    int known_key;                  /* 1: the request's key is known_key */
};
CERTA_API int certa_csr_view_parse(const unsigned char *data, size_t len, const unsigned char *known_spki,
                                   size_t known_spki_len, EVP_PKEY *known_key, struct certa_csr_view *out);
/* The challengePassword attribute, or NULL; caller frees with OPENSSL_free. */
CERTA_API char *certa_csr_view_challenge(const struct certa_csr_view *v);
/* The requested extensions as X509_REQ_get_extensions finds them (caller
 * frees with sk_X509_EXTENSION_pop_free), or NULL when none. */
CERTA_API STACK_OF(X509_EXTENSION) *certa_csr_view_extensions(const struct certa_csr_view *v);
CERTA_API void certa_csr_view_clear(struct certa_csr_view *v);

/* Parses "CN=a,O=b" (RFC 4514 order, as strongSwan and OpenSSL print) or
 * "/CN=a/O=b" (openssl -subj form). Unknown attribute names fail. */
CERTA_API int certa_name_parse(const char *text, X509_NAME **out);
/* The name in RFC 4514-like one-line form ("CN=a, O=b") into a malloc'd string. */
CERTA_API char *certa_name_text(const X509_NAME *name);
/* Parses "dns:NAME", "ip:ADDR" (v4 or v6), "email:X", "uri:U". */
CERTA_API int certa_san_parse(const char *spec, GENERAL_NAME **out);

#endif
