/* The device's side of SCEP (RFC 8894) without a network: GetCACaps
 * parsing and the algorithm choice it implies, the pkiMessage a client sends
 * (PKCSReq, RenewalReq, CertPoll) and the CertRep it reads back. Everything
 * is OpenSSL PKCS#7; the transport lives in scep_client.c. */
#ifndef CERTA_ENTITY_SCEP_MSG_H
#define CERTA_ENTITY_SCEP_MSG_H

#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include "certa/util.h"

#define SCEP_NONCE_LEN 16
#define SCEP_TXID_MAX 64
/* Bound on any SCEP answer we parse (HTTP body). */
#define SCEP_REPLY_MAX (256 * 1024)

enum scep_msg_type {
    SCEP_CERTREP = 3,
    SCEP_RENEWALREQ = 17,
    SCEP_PKCSREQ = 19,
    SCEP_CERTPOLL = 20, /* GetCertInitial in draft-nourse */
};

enum scep_status { SCEP_SUCCESS = 0, SCEP_FAILURE = 2, SCEP_PENDING = 3 };

/* GetCACaps capabilities we act on. */
enum scep_cap {
    SCEP_CAP_AES = 1 << 0,
    SCEP_CAP_DES3 = 1 << 1,
    SCEP_CAP_POST = 1 << 2,     /* POSTPKIOperation */
    SCEP_CAP_RENEWAL = 1 << 3,
    SCEP_CAP_SHA1 = 1 << 4,
    SCEP_CAP_SHA256 = 1 << 5,
    SCEP_CAP_SHA512 = 1 << 6,
    SCEP_CAP_STANDARD = 1 << 7, /* SCEPStandard: AES, POST, SHA-256 */
};

/* What the client will use, decided from the caps and the legacy switch. */
struct scep_algs {
    const EVP_CIPHER *cipher;   /* content encryption of our requests */
    const EVP_MD *md;           /* signature digest */
    int post;                   /* POST the PKIOperation (else GET) */
    int renewal;                /* RenewalReq is offered */
};

/* Parses a GetCACaps body (one keyword a line, any case) into SCEP_CAP_*. */
unsigned certa_scep_caps_parse(const char *body, size_t len);
/* Chooses cipher, digest and method. Without legacy, refuses (CERTA_EPOLICY)
 * when the CA offers neither AES nor SHA-2, naming what it offered. */
int certa_scep_algs_choose(unsigned caps, int legacy, struct scep_algs *out);

/* NIDs of the SCEP attributes (registered once). 0 on success. */
struct scep_nids {
    int message_type, pki_status, fail_info, sender_nonce, recipient_nonce, transaction_id;
};
int certa_scep_nids(struct scep_nids *out);

/* "badAlg", "badMessageCheck", "badRequest", "badTime", "badCertId" or
 * "unknown failInfo". */
const char *certa_scep_fail_name(int fail_info);

struct scep_request {
    enum scep_msg_type type;
    const unsigned char *inner;  /* PKCS#10 DER, or IssuerAndSubject DER */
    size_t inner_len;
    X509 *recipient;             /* RA/CA certificate we encrypt to */
    X509 *signer;                /* transient self-signed or current cert */
    EVP_PKEY *key;               /* the signer's private key */
    const struct scep_algs *algs;
    const char *transaction_id;
    unsigned char sender_nonce[SCEP_NONCE_LEN];
};

/* A random transactionID (hex) and a fresh senderNonce. */
int certa_scep_new_transaction(char *txid, size_t len);
int certa_scep_new_nonce(unsigned char nonce[SCEP_NONCE_LEN]);
/* A self-signed certificate for key with subject's name, valid for a day:
 * what a client without a certificate signs PKCSReq with. */
int certa_scep_transient_cert(EVP_PKEY *key, const X509_NAME *subject, const EVP_MD *md, X509 **out);
/* The IssuerAndSubject of a CertPoll (DER into out). */
int certa_scep_issuer_and_subject(const X509_NAME *issuer, const X509_NAME *subject, certa_buf *out);
/* Encodes the signed, enveloped pkiMessage (DER). */
int certa_scep_request_encode(const struct scep_request *req, certa_buf *out);

/* What the client expects of a CertRep and what it may use to read it. */
struct scep_expect {
    STACK_OF(X509) *signers;     /* CA and RA certificates: the only accepted signers */
    const char *transaction_id;
    const unsigned char *sender_nonce; /* ours, SCEP_NONCE_LEN bytes */
    EVP_PKEY *key;               /* decrypts the answer */
    X509 *cert;                  /* the certificate the request was signed with */
    int legacy;                  /* allow DES, 3DES and SHA-1 in the answer */
};

struct scep_reply {
    enum scep_status status;
    int fail_info;               /* FAILURE: 0-4, -1 when absent */
    STACK_OF(X509) *certs;       /* SUCCESS: the certs-only content */
};
void certa_scep_reply_clear(struct scep_reply *r);

/* Decodes a CertRep: signature by one of the signers, messageType,
 * transactionID and recipientNonce checked, then for SUCCESS the envelope
 * decrypted and the degenerate certs-only PKCS#7 read. Errors say which
 * check failed (CERTA_EPROTO, CERTA_ECRYPTO, or CERTA_EPOLICY for a
 * legacy cipher refused). */
int certa_scep_reply_decode(const unsigned char *der, size_t len, const struct scep_expect *exp,
                            struct scep_reply *out);

/* Decrypts a PKCS#7 EnvelopedData (DER). Single DES and 3DES need legacy;
 * single DES is read through OpenSSL's legacy provider, loaded into a
 * dedicated library context only for this call. */
int certa_scep_envelope_open(const unsigned char *der, size_t len, EVP_PKEY *key, X509 *cert, int legacy,
                             certa_buf *out);

#endif
