/* Internals of the SCEP server (RFC 8894) shared by lib/proto/scep_*.c:
 * the message codec (attributes, signed and enveloped PKCS#7 through
 * OpenSSL), the RA certificate, and the module's shared state. */
#ifndef CERTA_SCEP_INTERNAL_H
#define CERTA_SCEP_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include "certa/ca.h"
#include "certa/service.h"

#define SCEP_MSG_MAX (64 * 1024)        /* a PKIOperation message, decoded */
#define SCEP_TXID_MAX 128
#define SCEP_NONCE_MAX 64               /* RFC 8894: 16 octets; tolerated up to this */

enum scep_msg_type {
    SCEP_CERTREP = 3, SCEP_RENEWALREQ = 17, SCEP_UPDATEREQ = 18, SCEP_PKCSREQ = 19,
    SCEP_CERTPOLL = 20, SCEP_GETCERT = 21, SCEP_GETCRL = 22,
};
enum scep_status { SCEP_SUCCESS = 0, SCEP_FAILURE = 2, SCEP_PENDING = 3 };
enum scep_fail {
    SCEP_BADALG = 0, SCEP_BADMESSAGECHECK = 1, SCEP_BADREQUEST = 2, SCEP_BADTIME = 3, SCEP_BADCERTID = 4,
};
const char *scep_fail_name(int fail_info);
const char *scep_msg_name(int msg_type);

/* NIDs of the SCEP attributes, registered once (thread-safe). */
struct scep_nids {
    int message_type, pki_status, fail_info, sender_nonce, recipient_nonce, transaction_id;
};
const struct scep_nids *scep_nids(void);

/* A refusal to answer with a CertRep FAILURE. */
struct scep_fail_res {
    int info;                   /* SCEP_BAD* */
    char why[160];              /* for the log line; never a secret */
};
/* Sets f and returns 1, for `return scep_fail(f, SCEP_BADREQUEST, "...")`. */
int scep_fail(struct scep_fail_res *f, int info, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The pkiMessage's ContentInfo and SignedData as templates of certa's own
 * (scep_asn1.c). They follow OpenSSL's PKCS#7 ones (the SignerInfo is
 * OpenSSL's PKCS7_SIGNER_INFO) but hold certificates and CRLs as bytes
 * (ANY, which keeps a SEQUENCE's whole DER): d2i_PKCS7 would decode each
 * certificate's key through a fresh OSSL_DECODER context, the costliest
 * step of an enrollment after the private-key operations, and i2d_PKCS7
 * re-encode each X509. */
typedef struct {
    ASN1_OBJECT *type;          /* id-data */
    ASN1_OCTET_STRING *content; /* absent: certs-only */
} SCEP_ENCAP;
typedef struct {
    ASN1_INTEGER *version;
    STACK_OF(X509_ALGOR) *md_algs;
    SCEP_ENCAP *contents;
    STACK_OF(ASN1_TYPE) *certs; /* each Certificate as bytes, may be NULL */
    STACK_OF(ASN1_TYPE) *crls;  /* each CRL as bytes, may be NULL */
    STACK_OF(PKCS7_SIGNER_INFO) *signer_info;
} SCEP_SIGNED;
typedef struct {
    ASN1_OBJECT *type;          /* id-signedData */
    SCEP_SIGNED *d;
} SCEP_CONTENT_INFO;
DECLARE_ASN1_ITEM(SCEP_CONTENT_INFO)

/* A decoded pkiMessage (scep_decode.c). */
struct scep_msg {
    void *asn1;                 /* the outer ContentInfo (owned) */
    PKCS7_SIGNER_INFO *si;      /* its one signer (borrowed from asn1) */
    const ASN1_OBJECT *econtent_type;   /* the signed content's type (borrowed) */
    const unsigned char *econtent;      /* the signed content (borrowed), the */
    size_t econtent_len;                /* pkcsPKIEnvelope; NULL when absent */
    /* The signer's certificate (borrowed from asn1), its SubjectPublicKeyInfo
     * (borrowed from signer_view) and key; the key NULL when the certificate
     * is missing or its key unreadable. */
    const unsigned char *signer_der, *signer_spki;
    size_t signer_len, signer_spki_len;
    void *signer_view;          /* the certificate's parts (owned) */
    EVP_PKEY *signer_key;       /* owned */
    X509 *signer_cert;          /* scep_msg_signer_cert's (owned), NULL until then */
    int md_nid;                 /* digest the signer used */
    int md_announced;           /* 1: among the SignedData's digestAlgorithms */
    int msg_type;               /* -1 when absent or not a number */
    char txid[SCEP_TXID_MAX + 1];
    unsigned char nonce[SCEP_NONCE_MAX];
    size_t nonce_len;
    /* After scep_msg_open: the pkcsPKIEnvelope's content and its cipher. */
    int cipher_nid;
    unsigned char *inner;
    size_t inner_len;
};
void scep_msg_clear(struct scep_msg *m);

/* Parses DER: a SignedData with one signer that carries a transactionID
 * and a senderNonce. Returns 0 when a CertRep can answer it (m filled,
 * msg_type may still be -1, signer_key NULL when the signer's certificate
 * is missing), CERTA_EPROTO when not (HTTP 400). */
int scep_msg_parse(const unsigned char *der, size_t len, struct scep_msg *m);
/* The signer's certificate fully decoded (renewals need its validity,
 * subject and signature), or NULL when it does not decode; owned by m. */
X509 *scep_msg_signer_cert(struct scep_msg *m);
/* scep_open.c: checks the digest algorithm (MD5 only with legacy) and the
 * signature. 0 when good, 1 with f set when not. */
int scep_msg_verify(struct scep_msg *m, int legacy, struct scep_fail_res *f);
/* Decrypts the pkcsPKIEnvelope for our recipient certificate and key.
 * Single DES only with legacy. 0 when good, 1 with f set (another
 * recipient, cipher, decryption). */
int scep_msg_open(struct scep_msg *m, X509 *rcert, EVP_PKEY *rkey, int legacy, struct scep_fail_res *f);

/* A CertRep to build. */
struct scep_reply {
    X509 *sign_cert;            /* RA or CA */
    EVP_PKEY *sign_key;
    STACK_OF(X509) *extra_certs;/* also included (the CA next to the RA), may be NULL */
    int md_nid;                 /* the request's digest */
    const struct scep_msg *req; /* transactionID, nonce, recipient */
    int status;                 /* SCEP_SUCCESS / FAILURE / PENDING */
    int fail_info;
    /* SUCCESS: the degenerate certs-only PKCS#7 to envelope for the requester. */
    const unsigned char *content;
    size_t content_len;
};
int scep_certrep(const struct scep_reply *r, certa_buf *out);
/* scep_envelope.c: content enveloped for req's signer (its issuer and
 * serial, its key) with the cipher req's envelope used. */
int scep_envelope_for(const struct scep_msg *req, const unsigned char *content, size_t len, certa_buf *out);
/* A certs-only SignedData with the certificates (and a CRL) as DER. */
int scep_degenerate(X509 *const *certs, size_t ncerts, const unsigned char *crl_der, size_t crl_len,
                    certa_buf *out);
/* A SignedData with content (GetNextCACert), signed with the given digest. */
int scep_signed_data(X509 *cert, EVP_PKEY *key, int md_nid, const unsigned char *content, size_t len,
                     certa_buf *out);

/* The RA certificate for a CA whose key cannot decrypt (not RSA): reuses
 * DIR/scep-ra.crt and DIR/scep-ra.key while they match the CA and have more
 * than renew_days left, else issues a fresh one (RSA key_spec, digitalSignature
 * and keyEncipherment), records it in the store and writes the files (key 0600). */
int scep_ra_load_or_create(certa_ca *ca, const char *key_spec, int days, int renew_days,
                           X509 **cert, EVP_PKEY **key);

/* The module's shared state: read-only after start() but for the CRL cache. */
struct scep_state {
    X509 *ca_cert;
    STACK_OF(X509) *chain;      /* above the CA */
    X509 *ra_cert;              /* NULL: the CA decrypts and signs */
    EVP_PKEY *ra_key;
    STACK_OF(X509) *ra_extra;   /* {CA}, included in CertReps the RA signs */
    char *profile;              /* NULL: the CA's default */
    int legacy;
    OSSL_PROVIDER *prov_legacy, *prov_default; /* loaded for single DES */
    int64_t clock_skew;         /* 0: signingTime not checked */
    char caps[256];
    certa_buf cacert;           /* the GetCACert answer, pre-encoded */
    char cacert_type[48];
    certa_buf nextca;           /* GetNextCACert answer, empty when none */
    /* Serializes this module's store writes across workers: SQLite admits
     * one writer at a time anyway, and waiting here is a mutex handoff
     * where SQLite's busy handler would sleep in milliseconds. */
    pthread_mutex_t write_lock;
    /* The enrollment queue of scep_batch.c. */
    pthread_mutex_t q_lock;
    struct scep_enrollment *q_head, **q_tail;
    int q_busy;
    pthread_mutex_t crl_lock;
    certa_buf crl;              /* full CRL DER, for GetCRL */
    int64_t crl_at;
    int crl_max_age;
};

/* scep_batch.c: an enrollment's writes, group-committed with the other
 * workers' (the transaction binding, the challenge's use, the pipeline's
 * rows for a request the worker has decided and signed already). */
enum { SCEP_REFUSED_TXN = 1, SCEP_REFUSED_CHALLENGE = 2 };
struct scep_enrollment {
    const char *txid, *key_id;
    const char *ref;            /* challenge to use up, or NULL */
    int manual;                 /* the profile approves manually */
    struct certa_ca_prepared *prep; /* certa_ca_prepare'd; its request's
                                       requester points at requester[] */
    char requester[CERTA_SERIAL_HEX_MAX + 16];
    /* out */
    int refused;                /* SCEP_REFUSED_*: nothing recorded; drop prep */
    int rc;
    char error[256];
    int done;
    pthread_cond_t cond;        /* its waiter's (scep_enroll_wait) */
    struct scep_enrollment *next;
};
struct scep_state;
/* Queues e for the next group commit; the caller must then call
 * scep_enroll_wait (e stays the caller's, untouched by it meanwhile but
 * for prep's rows being written). */
void scep_enroll_queue(struct scep_state *st, struct scep_enrollment *e);
/* Waits until e is written, writing the queue itself when no other worker
 * is. Returns the enrollment's internal failure (negative, nothing of its
 * batch stored), else 0 with refused set, or prep recorded and committed. */
int scep_enroll_wait(struct scep_state *st, certa_ca *ca, struct scep_enrollment *e);

/* scep_pkiop.c: one PKIOperation (decoded message bytes) into res. */
int scep_pkioperation(struct scep_state *st, certa_ca *ca, const unsigned char *der, size_t len,
                      struct certa_http_response *res);

#endif
