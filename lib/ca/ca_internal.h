/* Internals of the CA engine shared by lib/ca/ (every file): the CA handle, parsed
 * profiles with their pre-encoded extensions, the config table, and the
 * helpers the pipeline is made of. Not a public header. */
#ifndef CERTA_CA_INTERNAL_H
#define CERTA_CA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "certa/ca.h"

#define CERTA_CA_CONF_MAX (256 * 1024)   /* bound on ca.conf */
#define CERTA_CA_CHAIN_MAX (1024 * 1024) /* bound on chain.pem / imported files */
#define CERTA_PROFILE_MAX_ATTRS 24
#define CERTA_PROFILE_MAX_EKU 16
#define CERTA_PROFILE_MAX_PATTERNS 16

/* ca.conf as read: (section, key, value) triples in file order. */
struct certa_conf_entry {
    char *section, *key, *value;
};
struct certa_conf {
    struct certa_conf_entry *e;
    size_t n, cap;
};
int certa_conf_parse(const char *text, const char *origin, struct certa_conf *out);
const char *certa_conf_get(const struct certa_conf *c, const char *section, const char *key);
void certa_conf_clear(struct certa_conf *c);
/* The commented default ca.conf for a new CA. */
int certa_conf_default(const char *name, certa_buf *out);

enum certa_san_kind { CERTA_SAN_DNS, CERTA_SAN_IP, CERTA_SAN_EMAIL, CERTA_SAN_URI, CERTA_SAN_KINDS };

struct certa_subject_rule {
    int nid;
    char *pattern;              /* fnmatch pattern, NULL: any value */
};

struct certa_profile {
    char *name;
    int days;
    unsigned key_usage;         /* X509v3 KU_* bits granted at most */
    ASN1_OBJECT *eku[CERTA_PROFILE_MAX_EKU];
    size_t neku;
    /* allowed keys */
    int rsa_min, rsa_max;       /* 0/0: RSA not allowed */
    int ec_p256, ec_p384, ec_p521, ed25519, ed448;
    struct certa_subject_rule subject[CERTA_PROFILE_MAX_ATTRS];
    size_t nsubject;
    int san_allowed[CERTA_SAN_KINDS];
    char *san_patterns[CERTA_SAN_KINDS][CERTA_PROFILE_MAX_PATTERNS]; /* none: any */
    size_t nsan_patterns[CERTA_SAN_KINDS];
    char *crl_url, *ocsp_url, *ca_issuers_url;
    char digest[16];
    const EVP_MD *md;           /* NULL for Ed25519/Ed448 CA keys */
    int legacy, manual;
    int ocsp_nocheck;           /* add id-pkix-ocsp-nocheck (delegated OCSP signers) */
    /* Encoded once per CA handle: the hot path only adds them. */
    X509_EXTENSION *bc_ext;     /* CA:FALSE, critical */
    X509_EXTENSION *ku_ext_rsa; /* the full set */
    X509_EXTENSION *ku_ext_other; /* without the RSA-only encipherment bits */
    X509_EXTENSION *eku_ext;    /* every allowed EKU, NULL when none */
    X509_EXTENSION *cdp_ext, *aia_ext;
    X509_EXTENSION *nocheck_ext;
    /* DigestSign initialised once with the CA key and digest; each
     * certificate signs with a copy (skips the per-signature fetch). */
    EVP_MD_CTX *sign_tmpl;
};

struct certa_ca {
    char *dir;
    char *name;
    struct certa_conf conf;
    X509 *cert;
    STACK_OF(X509) *chain;
    EVP_PKEY *key;              /* NULL when opened read-only */
    certa_store *store;
    int flags;
    certa_profile *profiles;
    size_t nprofiles;
    X509_EXTENSION *aki_ext;    /* keyid of this CA */
    EVP_MD_CTX *sign_ctx;       /* scratch copy of a profile's sign_tmpl */
    certa_ca_revoke_hook hook;
    void *hook_arg;
};

/* profile.c */
int certa_profiles_load(certa_ca *ca);
void certa_profiles_free(certa_ca *ca);
int certa_profile_parse_keyusage(const char *list, unsigned *bits);

/* policy.c: checks a request against a profile. 0 = allowed; otherwise
 * fills kind/reason and returns 1. Negative on internal failure. */
int certa_policy_check(const certa_ca *ca, const certa_profile *p, const struct certa_request *req,
                       int *kind, char *reason, size_t reason_len);

/* pipeline.c: certa_ca_submit_batch inside the caller's open store
 * transaction, so that a protocol's own writes (a SCEP transaction binding,
 * a challenge's use) commit with the requests and certificates, durably
 * at once. The caller commits before returning any certificate, and rolls
 * back when this fails (the results are then cleared). */
int certa_ca_submit_batch_in_txn(certa_ca *ca, const struct certa_request *const *reqs, size_t n,
                                 struct certa_issue_result *res);

/* record.c: a certificate's store row (serial, subject, times, DER; free
 * with certa_cert_row_clear), and its insertion (profile borrowed). */
int certa_ca_cert_row_fill(X509 *x, struct certa_cert_row *row);
int certa_ca_record_row(certa_ca *ca, struct certa_cert_row *row, const char *profile, int64_t request_id);

/* build.c: builds and signs the certificate for an allowed request. */
int certa_build_cert(certa_ca *ca, const certa_profile *p, const struct certa_request *req,
                     X509 **out, char serial_hex[CERTA_SERIAL_HEX_MAX]);
/* spki.c: the request's public key into x, cheaply (see there). 1 on success. */
int certa_spki_set(X509 *x, EVP_PKEY *pk, const X509_PUBKEY *spki);
/* serial.c: 128 random bits, positive, non-zero; hex as the store keeps it. */
int certa_serial_random(ASN1_INTEGER **out, char hex[CERTA_SERIAL_HEX_MAX]);
int certa_serial_hex(const ASN1_INTEGER *serial, char hex[CERTA_SERIAL_HEX_MAX]);

/* requests.c: normalized request <-> stored request body (JSON). */
int certa_request_serialize(const struct certa_request *req, certa_buf *out);
struct certa_stored_request {
    struct certa_request req;
    STACK_OF(X509_EXTENSION) *exts;
    char *profile, *protocol, *requester, *transaction_id, *renewal_of;
};
int certa_request_deserialize(const unsigned char *body, size_t len, struct certa_stored_request *out);
void certa_stored_request_clear(struct certa_stored_request *r);

/* Called by the revocation code after each committed revocation change:
 * runs the hook set with certa_ca_set_revoke_hook. */
void certa_ca_notify_revoked(certa_ca *ca, const char *serial);

/* next_ca.c: the rollover CA ([ca] next_ca_cert) and the optional cross
 * certificates of a root key update, checked: the next CA certificate is a
 * self-signed, unexpired CA certificate other than the current one;
 * newWithOld carries its key and verifies with the current CA key;
 * oldWithNew carries the current key and verifies with the new one. Files
 * are PEM or DER, relative to the CA directory. All NULL when file is NULL
 * or empty. */
struct certa_ca_next {
    X509 *cert;          /* newWithNew */
    X509 *new_with_old;  /* or NULL */
    X509 *old_with_new;  /* or NULL */
};
int certa_ca_next_load(const certa_ca *ca, const char *file, const char *cross, const char *old_with_new,
                       struct certa_ca_next *out);
void certa_ca_next_clear(struct certa_ca_next *n);
/* One certificate (PEM or DER) from file, relative to the CA directory. */
int certa_ca_read_cert_file(const certa_ca *ca, const char *file, X509 **out);

#endif
