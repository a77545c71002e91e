/* The CA engine: a CA state directory, its profiles, and the one issuance
 * pipeline that every front door (CLI, SCEP, CMP, EST) feeds:
 *
 *   normalized request -> profile policy -> issue | pending | reject
 *                      -> build from the profile, sign -> record durably -> return
 *
 * The certificate is built from the profile, never copied from the request;
 * a request can only narrow what the profile grants.
 *
 * A certa_ca handle (and its store handle) belongs to one thread at a time;
 * a server opens one per worker thread. */
#ifndef CERTA_CA_H
#define CERTA_CA_H

#include <stdint.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "certa/store.h"
#include "certa/util.h"

typedef struct certa_ca certa_ca;
typedef struct certa_profile certa_profile;

/* ---- CA state directory ------------------------------------------------
 * DIR/ca.conf   INI: [ca] settings and [profile NAME] sections
 * DIR/ca.key    PKCS#8, 0600, optionally passphrase-encrypted
 * DIR/ca.crt    the CA certificate (PEM)
 * DIR/chain.pem certificates above the CA, issuer first (may be absent)
 * DIR/ca.db     the SQLite store (or [ca] store = postgresql://...)
 * DIR/ca.csr    while waiting for an external parent (init --external) */

struct certa_ca_init_params {
    const char *dir;
    const char *subject;        /* DN text */
    const char *key_spec;       /* "ec:p256" default, see certa_key_generate */
    int days;                   /* validity of the CA certificate; 3650 default */
    const char *passphrase;     /* encrypts ca.key when non-NULL */
    const char *parent_dir;     /* sign by this certa CA (intermediate), or NULL */
    const char *parent_passphrase;
    int external;               /* write DIR/ca.csr for an outside parent */
    int path_len;               /* basicConstraints pathLenConstraint; -1 none */
};

CERTA_API int certa_ca_init(const struct certa_ca_init_params *p);
/* Finishes an --external init: checks the certificate matches ca.key and is a
 * CA certificate, installs it (and an optional chain file) and opens for use. */
CERTA_API int certa_ca_import_cert(const char *dir, const char *cert_path, const char *chain_path);

/* READONLY: no key, read-only store (list, show, cert). NOKEY: no key but a
 * writable store, for changes that sign nothing (reject a request). */
enum certa_ca_open_flags { CERTA_CA_READONLY = 1, CERTA_CA_NOKEY = 2 };

/* Opens a CA directory: config, key (passphrase may be NULL; also read from
 * the CERTA_CA_PASSPHRASE environment variable), certificate, store. */
CERTA_API int certa_ca_open(const char *dir, const char *passphrase, int flags, certa_ca **out);
CERTA_API void certa_ca_free(certa_ca *ca);

/* Borrowed pointers, valid until certa_ca_free. */
CERTA_API X509 *certa_ca_cert(const certa_ca *ca);
CERTA_API STACK_OF(X509) *certa_ca_chain(const certa_ca *ca);   /* may be empty */
CERTA_API EVP_PKEY *certa_ca_key(const certa_ca *ca);
CERTA_API certa_store *certa_ca_store(const certa_ca *ca);
CERTA_API const char *certa_ca_dir(const certa_ca *ca);
CERTA_API const char *certa_ca_name(const certa_ca *ca);       /* [ca] name, for URLs */
/* A [ca] or other setting from ca.conf ("section", "key"), or NULL. Protocol
 * modules read their own sections ([scep], [cmp], [ocsp], ...) this way. */
CERTA_API const char *certa_ca_setting(const certa_ca *ca, const char *section, const char *key);

/* ---- Profiles ---------------------------------------------------------- */

/* NULL or "" selects the profile named by [ca] default_profile ("default").
 * Unknown name: NULL with CERTA_ENOTFOUND set as the error. */
CERTA_API const certa_profile *certa_ca_profile(const certa_ca *ca, const char *name);
CERTA_API const char *certa_profile_name(const certa_profile *p);
CERTA_API int certa_profile_manual_approval(const certa_profile *p);
CERTA_API int certa_profile_legacy(const certa_profile *p);

/* ---- The issuance pipeline -------------------------------------------- */

/* A request as every protocol normalizes it. Nothing here is trusted: the
 * profile decides what the certificate gets. The caller keeps ownership. */
struct certa_request {
    X509_NAME *subject;                   /* requested subject DN */
    GENERAL_NAMES *sans;                  /* requested SANs, or NULL */
    EVP_PKEY *pubkey;                     /* required */
    const STACK_OF(X509_EXTENSION) *extensions; /* other requested extensions (KU, EKU, BC ...) */
    int64_t not_after;                    /* requested end (CMP template), 0 = none */
    const char *profile;                  /* NULL: default */
    const char *protocol;                 /* "cli", "scep", "cmp", "est" */
    const char *requester;                /* how the requester was authenticated, for the record:
                                             "operator", "challenge:REF", "mac:REF", "cert:SERIAL" */
    const char *transaction_id;           /* protocol transaction, or NULL */
    const char *renewal_of;               /* serial of the certificate being renewed, or NULL */
    int preapproved;                      /* 1: skip manual approval (operator action) */
    const X509_PUBKEY *spki;              /* optional: pubkey as decoded from the request
                                             (CSR, CRMF); lets issuance copy it instead of
                                             re-encoding pubkey. Must be the same key. */
};

/* A request filled from a PKCS#10 CSR whose signature the caller has checked
 * (certa_csr_parse does): subject and public key borrowed from csr, SANs and
 * the other requested extensions owned here. Protocols set the remaining
 * fields (profile, protocol, requester ...) in .req, then submit &.req.
 * Free with certa_csr_request_clear; csr must outlive it. */
struct certa_csr_request {
    struct certa_request req;
    STACK_OF(X509_EXTENSION) *exts;
    GENERAL_NAMES *sans;
};
CERTA_API int certa_request_from_csr(X509_REQ *csr, struct certa_csr_request *out);
/* The same from a certa_csr_view (subject and key borrowed from it: v must
 * outlive out). */
struct certa_csr_view;
CERTA_API int certa_request_from_csr_view(const struct certa_csr_view *v, struct certa_csr_request *out);
CERTA_API void certa_csr_request_clear(struct certa_csr_request *r);

enum certa_decision { CERTA_DECISION_ISSUED = 0, CERTA_DECISION_PENDING = 1, CERTA_DECISION_REJECTED = 2 };

/* Why a request was rejected, so protocols can map it to their failure codes
 * (SCEP failInfo, CMP PKIFailureInfo, EST HTTP status). */
enum certa_reject_kind {
    CERTA_REJECT_NONE = 0,
    CERTA_REJECT_BAD_REQUEST,   /* subject, SAN or extension not allowed */
    CERTA_REJECT_BAD_ALG,       /* key type or size not allowed */
    CERTA_REJECT_BAD_IDENTITY,  /* requester not allowed this subject */
    CERTA_REJECT_OPERATOR,      /* rejected by the operator (manual approval) */
};

struct certa_issue_result {
    int decision;               /* CERTA_DECISION_* */
    X509 *cert;                 /* ISSUED: the certificate, owned by the result.
                                   Its SubjectPublicKeyInfo is copied from the
                                   request, not decoded (decoding is OpenSSL 3.0's
                                   slowest step): X509_get0_pubkey() is NULL on it;
                                   use the request's key, or re-read the DER. */
    int64_t request_id;         /* PENDING (and ISSUED from a stored request) */
    int reject_kind;            /* REJECTED: CERTA_REJECT_* */
    char reason[256];           /* REJECTED: what was refused, for humans */
};
CERTA_API void certa_issue_result_clear(struct certa_issue_result *r);

/* Runs a request through the pipeline. Returns 0 with the decision in res
 * (ISSUED: recorded durably before return; PENDING: request stored;
 * REJECTED: nothing stored). Negative return for an unknown profile
 * (CERTA_ENOTFOUND, naming it) and for internal failures (store, crypto),
 * with nothing stored either.
 *
 * The rules (lib/ca/policy.c, build.c): a key type/size the profile does not
 * list is REJECTED BAD_ALG; a subject attribute or SAN the profile does not
 * list, or whose value misses the profile's pattern, is REJECTED BAD_REQUEST
 * (refused, never silently dropped); an EKU request overlapping none of the
 * profile's is REJECTED BAD_REQUEST. CA:TRUE, keyCertSign, cRLSign and any
 * extension the profile does not list are never granted: the certificate
 * simply lacks them. EKU = requested ∩ allowed (all allowed when none asked),
 * key usage likewise, validity = min(requested, profile, CA's notAfter).
 * A request with transaction_id also gets a request row, for certa_ca_poll. */
CERTA_API int certa_ca_submit(certa_ca *ca, const struct certa_request *req,
                              struct certa_issue_result *res);
/* The same for n requests with one durable commit (group commit). An
 * unknown profile in any request fails the whole batch before anything is
 * signed; an internal failure rolls the whole batch back. */
CERTA_API int certa_ca_submit_batch(certa_ca *ca, const struct certa_request *const *reqs,
                                    size_t n, struct certa_issue_result *res);

/* The pipeline in two steps, for front doors that group-commit: signing
 * is the costly part of issuing, and done in certa_ca_prepare it runs in
 * each caller's thread instead of inside the store's one-writer section.
 * certa_ca_prepare decides (policy, approval) and, for ISSUED, builds and
 * signs the certificate; it writes nothing. certa_ca_record_prepared, inside
 * the caller's open store transaction, writes what certa_ca_submit would
 * (request row, certificate row; re-signing with a fresh serial should the
 * serial exist); the certificate may be returned only after the caller's
 * commit. A prepared certificate that is never recorded (the protocol
 * refused the request after all, the transaction rolled back) must be
 * dropped with certa_ca_prepared_clear, never returned. req must outlive
 * the prepared request. */
struct certa_ca_prepared {
    const struct certa_request *req;
    struct certa_issue_result res; /* the decision; ISSUED: the certificate */
    char serial[CERTA_SERIAL_HEX_MAX];
    /* ISSUED: the certificate's store row, encoded here so that recording
     * reads neither res.cert nor its encodings: the protocol may go on
     * using res.cert (with a reference of its own) while another thread
     * records. Only a serial collision replaces res.cert (and frees the
     * prepared one's reference), in which case the protocol must answer
     * with the new res.cert. */
    struct certa_cert_row row;
};
CERTA_API int certa_ca_prepare(certa_ca *ca, const struct certa_request *req, struct certa_ca_prepared *out);
CERTA_API int certa_ca_record_prepared(certa_ca *ca, struct certa_ca_prepared *pp);
CERTA_API void certa_ca_prepared_clear(struct certa_ca_prepared *pp);

/* Manual approval: issue or reject a PENDING request. */
CERTA_API int certa_ca_approve(certa_ca *ca, int64_t request_id, X509 **cert_out);
CERTA_API int certa_ca_reject(certa_ca *ca, int64_t request_id, const char *reason);
/* The outcome of a stored request by its protocol transaction (SCEP CertPoll,
 * CMP pollReq): ISSUED with the certificate, PENDING, or REJECTED.
 * CERTA_ENOTFOUND when there is no such transaction. */
CERTA_API int certa_ca_poll(certa_ca *ca, const char *protocol, const char *transaction_id,
                            struct certa_issue_result *res);

/* Records a certificate the CA key signed outside the request pipeline
 * (its own intermediates, an RA or OCSP-signing certificate made for a
 * protocol) so that it is listed, revocable and known to OCSP like any
 * other. The pipeline records through here too. A serial already in the
 * store is CERTA_EEXIST. */
CERTA_API int certa_ca_record_cert(certa_ca *ca, X509 *x, const char *profile, int64_t request_id);

/* A certificate this CA issued, by serial (hex as users type it). */
CERTA_API int certa_ca_find_cert(certa_ca *ca, const char *serial, X509 **out);

/* ---- Revocation, status, CRLs ----------------------------------------- */

/* Parses "keyCompromise", "key-compromise", "superseded", "certificateHold",
 * ... (case-insensitive) into CERTA_REASON_*. */
CERTA_API int certa_reason_parse(const char *name, int *reason);
CERTA_API const char *certa_reason_name(int reason);

CERTA_API int certa_ca_revoke(certa_ca *ca, const char *serial, int reason, int64_t invalidity_date);
/* Revokes every serial in one transaction: all or nothing. On failure,
 * *failed_index (if non-NULL) names the serial that failed. */
CERTA_API int certa_ca_revoke_many(certa_ca *ca, const char *const *serials, size_t n, int reason,
                                   size_t *failed_index);
CERTA_API int certa_ca_release_hold(certa_ca *ca, const char *serial);

/* Called after every committed revocation change (OCSP cache invalidation,
 * CRL regeneration). One hook per CA handle. */
typedef void (*certa_ca_revoke_hook)(certa_ca *ca, const char *serial, void *arg);
CERTA_API void certa_ca_set_revoke_hook(certa_ca *ca, certa_ca_revoke_hook hook, void *arg);

enum certa_cert_state { CERTA_STATE_GOOD = 0, CERTA_STATE_REVOKED = 1, CERTA_STATE_UNKNOWN = 2 };
struct certa_cert_status {
    int state;                  /* CERTA_STATE_*; UNKNOWN: never issued here */
    int reason;                 /* when revoked */
    int64_t revoked_at;
    int64_t not_after;
};
/* Status for OCSP by raw serial bytes (big-endian, as in the certificate). */
CERTA_API int certa_ca_status(certa_ca *ca, const unsigned char *serial, size_t len,
                              struct certa_cert_status *out);

/* Builds and signs a full (delta = 0) or delta CRL, takes the next CRL
 * number, and records the base for later deltas. Streams from the store:
 * memory is the output plus a constant. der receives the DER. */
CERTA_API int certa_ca_crl(certa_ca *ca, int delta, certa_buf *der);

#endif
