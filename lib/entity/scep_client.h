/* SCEP over HTTP for the device (RFC 8894 section 4): the operations a
 * client sends to the trustpoint's URL through its route, and the checks on
 * what comes back (status, HTML error pages, empty bodies, size). */
#ifndef CERTA_ENTITY_SCEP_CLIENT_H
#define CERTA_ENTITY_SCEP_CLIENT_H

#include "enroll.h"
#include "scep_msg.h"

/* GetCACaps into SCEP_CAP_* flags; a 404 or an HTML page means there is no
 * SCEP service at the URL. */
int certa_scep_get_caps(const struct certa_enroll_ctx *ctx, unsigned *caps);
/* GetCACert: the CA certificate (DER) or CA and RA certificates (PKCS#7). */
int certa_scep_get_ca(const struct certa_enroll_ctx *ctx, STACK_OF(X509) **certs);
/* Sends a pkiMessage (POST or GET as algs says) and returns the CertRep body. */
int certa_scep_pki_operation(const struct certa_enroll_ctx *ctx, const struct scep_algs *algs,
                             const certa_buf *msg, certa_buf *reply);

/* A transaction waiting at the CA, kept in the trustpoint (scep-pending,
 * mode 0600: the request holds the challenge password) so that
 * `certa enroll NAME --resume` can poll again after an interruption. */
struct scep_pending {
    char transaction_id[SCEP_TXID_MAX];
    int renewal;
    X509 *signer;       /* the certificate the request was signed with */
    X509_REQ *req;      /* the request that is waiting */
};
void certa_scep_pending_clear(struct scep_pending *p);
/* CERTA_ENOTFOUND when the trustpoint has no pending transaction. */
int certa_scep_pending_load(const char *state, const char *name, struct scep_pending *p);
int certa_scep_pending_save(const char *state, const char *name, const struct scep_pending *p);
int certa_scep_pending_remove(const char *state, const char *name);

extern const struct certa_enroll_protocol certa_enroll_scep;

#endif
