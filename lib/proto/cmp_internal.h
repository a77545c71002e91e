/* Internals of the CMP server module (lib/proto/cmp_*.c): field access
 * OpenSSL 3.0 lacks, the table of open transactions shared by all
 * workers, and the per-request context the OSSL_CMP_SRV_CTX callbacks see. */
#ifndef CERTA_PROTO_CMP_INTERNAL_H
#define CERTA_PROTO_CMP_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/cmp.h>
#include <openssl/crmf.h>
#include <openssl/err.h>
#include "certa/ca.h"
#include "certa/cmp.h"

/* PKIBody choice numbers (RFC 4210 5.1.2), which OpenSSL 3.0 keeps private. */
#ifndef OSSL_CMP_PKIBODY_IR
#define OSSL_CMP_PKIBODY_IR 0
#define OSSL_CMP_PKIBODY_IP 1
#define OSSL_CMP_PKIBODY_CR 2
#define OSSL_CMP_PKIBODY_CP 3
#define OSSL_CMP_PKIBODY_P10CR 4
#define OSSL_CMP_PKIBODY_KUR 7
#define OSSL_CMP_PKIBODY_KUP 8
#define OSSL_CMP_PKIBODY_RR 11
#define OSSL_CMP_PKIBODY_RP 12
#define OSSL_CMP_PKIBODY_PKICONF 19
#define OSSL_CMP_PKIBODY_GENM 21
#define OSSL_CMP_PKIBODY_GENP 22
#define OSSL_CMP_PKIBODY_ERROR 23
#define OSSL_CMP_PKIBODY_CERTCONF 24
#define OSSL_CMP_PKIBODY_POLLREQ 25
#define OSSL_CMP_PKIBODY_POLLREP 26
#endif

/* cmp_fields.c: borrowed pointers into msg (NULL when absent). */
void *cmp_hdr_field(const OSSL_CMP_MSG *msg, const char *name);
const ASN1_OCTET_STRING *cmp_hdr_senderKID(const OSSL_CMP_MSG *msg);
const ASN1_OCTET_STRING *cmp_hdr_senderNonce(const OSSL_CMP_MSG *msg);
const ASN1_GENERALIZEDTIME *cmp_hdr_messageTime(const OSSL_CMP_MSG *msg);
const X509_ALGOR *cmp_hdr_protectionAlg(const OSSL_CMP_MSG *msg);
long cmp_hdr_pvno(const OSSL_CMP_MSG *msg);
const STACK_OF(X509) *cmp_msg_extraCerts(const OSSL_CMP_MSG *msg);
X509_PUBKEY *cmp_tmpl_publicKey(const OSSL_CRMF_CERTTEMPLATE *t);
const ASN1_TIME *cmp_tmpl_notAfter(const OSSL_CRMF_CERTTEMPLATE *t);
int cmp_pbm_params(const OSSL_CRMF_PBMPARAMETER *p, size_t *salt_len, long *iterations);
const X509_EXTENSIONS *cmp_rr_entry_details(const OSSL_CMP_MSG *msg);
int cmp_pkisi_status(const OSSL_CMP_PKISI *si);

#define CMP_TXID_MAX 64          /* octets */
#define CMP_NONCE_MIN 8          /* octets (RFC 4210 asks for 128 bits; tolerate less) */
#define CMP_NONCE_MAX 64
#define CMP_REQUESTER_MAX 96
#define CMP_BODY_MAX (64 * 1024)

enum cmp_txn_state { CMP_TXN_CONFIRM = 1, CMP_TXN_POLLING = 2 };

/* An open transaction: waiting for certConf, or for the operator. */
struct cmp_txn {
    char txid[CMP_TXID_MAX * 2 + 1];
    char requester[CMP_REQUESTER_MAX];
    char profile[65];
    unsigned char nonce[CMP_NONCE_MAX]; /* the senderNonce of our last answer */
    size_t nonce_len;
    int state;
    char serial[CERTA_SERIAL_HEX_MAX];   /* CONFIRM: the certificate issued */
    int64_t deadline;                    /* CONFIRM: revoke when unconfirmed by then */
    int64_t touched;
    unsigned char *orig;                 /* POLLING: the request's DER */
    size_t orig_len;
    /* OpenSSL's server for this transaction: it keeps the transaction's
     * state (transactionID, nonces, certReqId, polling) between messages. */
    OSSL_CMP_SRV_CTX *srv;
};

struct cmp_state {
    pthread_mutex_t lock;
    struct cmp_txn *txns;
    size_t ntxns, max_txns;
    /* settings, fixed after start */
    int implicit_confirm;
    int64_t max_skew, confirm_timeout, poll_interval, poll_lifetime;
    X509_STORE *anchors;         /* manufacturer trust anchors, or NULL */
    /* The root CA update ([ca] next_ca_cert), encoded once, or NULL. */
    ASN1_STRING *rootca_update;
    /* The answer to undecodable input, made at most once a minute. */
    unsigned char *garbage_der;
    size_t garbage_len;
    int64_t garbage_at;
};

/* cmp_txn.c, all under st->lock. put takes ownership of t's orig and srv
 * (also on failure, when it frees them); take moves the entry out, so that
 * one message at a time works on a transaction. */
int cmp_txn_put(struct cmp_state *st, struct cmp_txn *t);
int cmp_txn_take(struct cmp_state *st, const char *txid, struct cmp_txn *out);
void cmp_txn_clear(struct cmp_txn *t);
/* Collects up to max serials whose confirmation deadline passed (removing
 * them) and drops polling entries idle beyond poll_lifetime. */
size_t cmp_txn_expired(struct cmp_state *st, int64_t now, char (*serials)[CERTA_SERIAL_HEX_MAX], size_t max);

enum cmp_auth { CMP_AUTH_NONE = 0, CMP_AUTH_MAC, CMP_AUTH_CERT, CMP_AUTH_IDEVID };

/* One request as the callbacks see it (custom_ctx of the SRV_CTX). */
struct cmp_req {
    struct cmp_state *st;
    certa_ca *ca;
    const char *profile;
    int body_type;
    char txid[CMP_TXID_MAX * 2 + 1];
    int auth;
    char requester[CMP_REQUESTER_MAX];
    char mac_ref[CERTA_CMP_REF_MAX + 1];
    char *subject_pattern;               /* of the MAC secret, or NULL */
    int consume_secret;                  /* MAC: use it up when a certificate is requested */
    X509 *signer;                        /* CERT/IDEVID: the protecting certificate */
    char signer_serial[CERTA_SERIAL_HEX_MAX];
    /* A refusal found before OpenSSL runs: answered from the callbacks. */
    int fail_bit;                        /* -1: none */
    char fail_text[160];
    /* The transaction looked up for certConf / pollReq. */
    struct cmp_txn txn;
    int have_txn;
    int from_poll;                       /* the cert callback delivers a polled result */
    /* Results for the caller. */
    char issued_serial[CERTA_SERIAL_HEX_MAX];
    int pending, confirmed, revoked_rr;
    char detail[160];
};

/* cmp_server.c: a fresh OpenSSL server for rq, with its transaction's state. */
OSSL_CMP_SRV_CTX *cmp_server_for(struct cmp_req *rq, const unsigned char *secret, size_t secret_len);
OSSL_CMP_CTX *cmp_plain_ctx(void);
/* cmp_garbage.c: a protected answer (failInfo badDataFormat) to bytes that
 * are not a PKIMessage. */
int cmp_answer_garbage(struct cmp_state *st, certa_ca *ca, struct certa_http_response *res);

/* cmp_genm.c */
int cmp_genm_answer(struct cmp_req *rq, const STACK_OF(OSSL_CMP_ITAV) *in, STACK_OF(OSSL_CMP_ITAV) **out);
/* cmp_certs.c: CaCerts (SEQUENCE OF Certificate) to and from an ITAV value. */
int cmp_certs_encode(const STACK_OF(X509) *certs, ASN1_TYPE **out);
STACK_OF(X509) *cmp_certs_decode(const ASN1_TYPE *t);

/* cmp_rootca.c: root CA update (RFC 9483 4.3.2). OpenSSL 3.0 names
 * id-it-rootCaKeyUpdate but not id-it-rootCaCert, nor the content: the
 * infoTypes are compared by dotted OID. A client asks with
 * id-it-rootCaCert (its current root as the value, or none); certa also
 * accepts a genm carrying id-it-rootCaKeyUpdate itself. The genp answers
 * with id-it-rootCaKeyUpdate: RootCaKeyUpdateContent, or no value. */
#define CMP_OID_ROOTCA_KEY_UPDATE "1.3.6.1.5.5.7.4.18"
#define CMP_OID_ROOTCA_CERT "1.3.6.1.5.5.7.4.20"
int cmp_oid_is(const ASN1_OBJECT *o, const char *dotted);
/* DER of RootCaKeyUpdateContent (old ones may be NULL) as a SEQUENCE string. */
int cmp_rootca_encode(X509 *new_with_new, X509 *new_with_old, X509 *old_with_new, ASN1_STRING **out);
/* The certificates of an ITAV value (caller frees; absent ones NULL). */
int cmp_rootca_decode(const ASN1_TYPE *t, X509 **new_with_new, X509 **new_with_old, X509 **old_with_new);
/* The client's checks of an update against its current CA cur (old ones
 * may be NULL): 0, or a negative CERTA_E* with the reason. */
int cmp_rootca_check(X509 *cur, X509 *new_with_new, X509 *new_with_old, X509 *old_with_new);

/* cmp_callbacks.c */
int cmp_srv_init(OSSL_CMP_SRV_CTX *srv, struct cmp_req *rq);
/* Hex of an octet string into out (2*len+1), "" when NULL. */
void cmp_hex(const ASN1_OCTET_STRING *s, char *out, size_t out_len);

#endif
