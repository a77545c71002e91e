/* The answer to bytes that do not decode as a PKIMessage. OpenSSL 3.0 has
 * no public constructor for a CMP response outside its server, so the CA
 * asks its own server: a p10cr made in-process (for the CA's own name) is
 * refused by the callbacks with badDataFormat, and the CA-signed answer is
 * sent. It is cached for a minute so that junk costs no signatures. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "proto/cmp_internal.h"

struct inproc {
    OSSL_CMP_SRV_CTX *srv;
    OSSL_CMP_MSG *rsp;
};

static OSSL_CMP_MSG *inproc_transfer(OSSL_CMP_CTX *c, const OSSL_CMP_MSG *req)
{
    struct inproc *ip = OSSL_CMP_CTX_get_transfer_cb_arg(c);
    ip->rsp = OSSL_CMP_SRV_process_request(ip->srv, req);
    return NULL; /* the client side stops here */
}

static X509_REQ *self_csr(certa_ca *ca)
{
    X509_REQ *r = X509_REQ_new();
    EVP_PKEY *k = certa_ca_key(ca);
    int id = EVP_PKEY_get_id(k);
    const EVP_MD *md = (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) ? NULL : EVP_sha256();
    if (r == NULL || !X509_REQ_set_subject_name(r, X509_get_subject_name(certa_ca_cert(ca))) ||
        !X509_REQ_set_pubkey(r, k) || X509_REQ_sign(r, k, md) <= 0) {
        X509_REQ_free(r);
        return NULL;
    }
    return r;
}

static int build(struct cmp_state *st, certa_ca *ca, unsigned char **der, size_t *len)
{
    struct cmp_req rq;
    struct inproc ip = { 0 };
    OSSL_CMP_CTX *c = NULL;
    X509_REQ *csr = NULL;
    int rc = -1;
    memset(&rq, 0, sizeof(rq));
    rq.st = st;
    rq.ca = ca;
    rq.fail_bit = OSSL_CMP_PKIFAILUREINFO_badDataFormat;
    snprintf(rq.fail_text, sizeof(rq.fail_text), "the request is not a DER PKIMessage");
    if ((ip.srv = cmp_server_for(&rq, NULL, 0)) == NULL || (c = cmp_plain_ctx()) == NULL ||
        (csr = self_csr(ca)) == NULL)
        goto out;
    if (!OSSL_CMP_CTX_set1_cert(c, certa_ca_cert(ca)) || !OSSL_CMP_CTX_set1_pkey(c, certa_ca_key(ca)) ||
        !OSSL_CMP_CTX_set1_p10CSR(c, csr) || !OSSL_CMP_CTX_set_transfer_cb(c, inproc_transfer) ||
        !OSSL_CMP_CTX_set_transfer_cb_arg(c, &ip))
        goto out;
    (void)OSSL_CMP_exec_P10CR_ses(c);
    unsigned char *d = NULL;
    int n = ip.rsp ? i2d_OSSL_CMP_MSG(ip.rsp, &d) : -1;
    if (n > 0) {
        *der = d;
        *len = (size_t)n;
        rc = 0;
    }
out:
    ERR_clear_error();
    OSSL_CMP_MSG_free(ip.rsp);
    OSSL_CMP_SRV_CTX_free(ip.srv);
    OSSL_CMP_CTX_free(c);
    X509_REQ_free(csr);
    return rc;
}

int cmp_answer_garbage(struct cmp_state *st, certa_ca *ca, struct certa_http_response *res)
{
    int64_t now = (int64_t)time(NULL);
    int rc;
    pthread_mutex_lock(&st->lock);
    if (st->garbage_der == NULL || st->garbage_at + 60 <= now) {
        unsigned char *der = NULL;
        size_t len = 0;
        if (build(st, ca, &der, &len) == 0) {
            OPENSSL_free(st->garbage_der);
            st->garbage_der = der;
            st->garbage_len = len;
            st->garbage_at = now;
        }
    }
    if (st->garbage_der != NULL)
        rc = certa_http_respond(res, 200, "application/pkixcmp", st->garbage_der, st->garbage_len);
    else
        rc = certa_http_respond_error(res, 400, "not a CMP message");
    pthread_mutex_unlock(&st->lock);
    return rc;
}
