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

/* Parses "CN=a,O=b" (RFC 4514 order, as strongSwan and OpenSSL print) or
 * "/CN=a/O=b" (openssl -subj form). Unknown attribute names fail. */
CERTA_API int certa_name_parse(const char *text, X509_NAME **out);
/* The name in RFC 4514-like one-line form ("CN=a, O=b") into a malloc'd string. */
CERTA_API char *certa_name_text(const X509_NAME *name);
/* Parses "dns:NAME", "ip:ADDR" (v4 or v6), "email:X", "uri:U". */
CERTA_API int certa_san_parse(const char *spec, GENERAL_NAME **out);

#endif
