/* The OSSL_CMP_SRV_CTX callbacks: OpenSSL decodes, checks protection and
 * proof of possession and builds the protected answers; these turn each
 * request into a call to the CA engine (certa_ca_submit for ir/cr/kur/p10cr,
 * certa_ca_poll for pollReq, certa_ca_revoke for rr and refused certConf). */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/x509v3.h>
#include "certa/csr.h"
#include "certa/log.h"
#include "proto/cmp_internal.h"

void cmp_hex(const ASN1_OCTET_STRING *s, char *out, size_t out_len)
{
    out[0] = 0;
    if (s == NULL || (size_t)ASN1_STRING_length(s) * 2 + 1 > out_len)
        return;
    certa_hex_encode(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), out);
}

static int serial_hex(const ASN1_INTEGER *a, char out[CERTA_SERIAL_HEX_MAX])
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(a, NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    int rc = hex ? certa_serial_normalize(hex, out, CERTA_SERIAL_HEX_MAX) : CERTA_ENOMEM;
    OPENSSL_free(hex);
    BN_free(bn);
    return rc;
}

static OSSL_CMP_PKISI *refuse(struct cmp_req *rq, int bit, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static OSSL_CMP_PKISI *refuse(struct cmp_req *rq, int bit, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rq->fail_text, sizeof(rq->fail_text), fmt, ap);
    va_end(ap);
    rq->fail_bit = bit;
    return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection, 1 << bit, rq->fail_text);
}

static int reject_bit(int kind)
{
    switch (kind) {
    case CERTA_REJECT_BAD_ALG: return OSSL_CMP_PKIFAILUREINFO_badAlg;
    case CERTA_REJECT_BAD_IDENTITY: return OSSL_CMP_PKIFAILUREINFO_notAuthorized;
    case CERTA_REJECT_OPERATOR: return OSSL_CMP_PKIFAILUREINFO_badRequest;
    default: return OSSL_CMP_PKIFAILUREINFO_badCertTemplate;
    }
}

/* The CA certificate and the chain above it, for chainOut / caPubs. */
static STACK_OF(X509) *ca_certs(certa_ca *ca, int root_only)
{
    STACK_OF(X509) *chain = certa_ca_chain(ca), *out = sk_X509_new_null();
    X509 *root = sk_X509_num(chain) > 0 ? sk_X509_value(chain, sk_X509_num(chain) - 1) : certa_ca_cert(ca);
    if (out == NULL)
        return NULL;
    if (root_only) {
        if (!X509_add_cert(out, root, X509_ADD_FLAG_UP_REF))
            goto fail;
        return out;
    }
    if (!X509_add_cert(out, certa_ca_cert(ca), X509_ADD_FLAG_UP_REF) ||
        !X509_add_certs(out, chain, X509_ADD_FLAG_UP_REF))
        goto fail;
    return out;
fail:
    sk_X509_pop_free(out, X509_free);
    return NULL;
}

static OSSL_CMP_PKISI *deliver(struct cmp_req *rq, struct certa_issue_result *res, int ir, X509 **certOut,
                               STACK_OF(X509) **chainOut, STACK_OF(X509) **caPubs)
{
    switch (res->decision) {
    case CERTA_DECISION_ISSUED:
        if (serial_hex(X509_get0_serialNumber(res->cert), rq->issued_serial) < 0)
            return NULL;
        *certOut = res->cert;
        res->cert = NULL;
        *chainOut = ca_certs(rq->ca, 0);
        /* A MAC-protected ir has no other way to learn the root. */
        if (ir && rq->auth == CMP_AUTH_MAC)
            *caPubs = ca_certs(rq->ca, 1);
        snprintf(rq->detail, sizeof(rq->detail), "issued serial=%s", rq->issued_serial);
        return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, NULL);
    case CERTA_DECISION_PENDING:
        rq->pending = 1;
        snprintf(rq->detail, sizeof(rq->detail), "pending request=%lld", (long long)res->request_id);
        return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_waiting, 0, "waiting for approval");
    default:
        return refuse(rq, reject_bit(res->reject_kind), "%s", res->reason);
    }
}

/* The template's requested SANs and other extensions, split as the
 * pipeline wants them. */
static int split_exts(const X509_EXTENSIONS *exts, GENERAL_NAMES **sans, STACK_OF(X509_EXTENSION) **rest)
{
    *sans = NULL;
    *rest = sk_X509_EXTENSION_new_null();
    if (*rest == NULL)
        return -1;
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
        if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) == NID_subject_alt_name) {
            if (*sans != NULL || (*sans = X509V3_EXT_d2i(e)) == NULL)
                return -1;
        } else if (!sk_X509_EXTENSION_push(*rest, e)) {
            return -1;
        }
    }
    return 0;
}

static int64_t time_of(const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    return (int64_t)timegm(&tm);
}

static OSSL_CMP_PKISI *cert_request(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, int certReqId,
                                    const OSSL_CRMF_MSG *crm, const X509_REQ *p10cr, X509 **certOut,
                                    STACK_OF(X509) **chainOut, STACK_OF(X509) **caPubs)
{
    struct cmp_req *rq = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv);
    struct certa_issue_result res = { 0 };
    struct certa_csr_request csr = { 0 };
    struct certa_request r = { 0 };
    GENERAL_NAMES *sans = NULL;
    STACK_OF(X509_EXTENSION) *rest = NULL;
    char *subject_text = NULL;
    OSSL_CMP_PKISI *si = NULL;
    int type = OSSL_CMP_MSG_get_bodytype(req);
    (void)certReqId;
    if (rq->fail_bit >= 0)
        return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection, 1 << rq->fail_bit, rq->fail_text);
    if (rq->from_poll) {
        if (certa_ca_poll(rq->ca, "cmp", rq->txid, &res) < 0)
            return refuse(rq, OSSL_CMP_PKIFAILUREINFO_badRequest, "no request for this transaction");
        si = deliver(rq, &res, type == OSSL_CMP_PKIBODY_IR, certOut, chainOut, caPubs);
        goto out;
    }
    if (p10cr != NULL) {
        EVP_PKEY *pk = X509_REQ_get0_pubkey((X509_REQ *)p10cr);
        if (pk == NULL || X509_REQ_verify((X509_REQ *)p10cr, pk) <= 0) {
            si = refuse(rq, OSSL_CMP_PKIFAILUREINFO_badPOP, "the PKCS#10 signature does not verify");
            goto out;
        }
        if (certa_request_from_csr((X509_REQ *)p10cr, &csr) < 0) {
            si = refuse(rq, OSSL_CMP_PKIFAILUREINFO_badDataFormat, "%s", certa_error_last());
            goto out;
        }
        r = csr.req;
    } else {
        OSSL_CRMF_CERTTEMPLATE *t = OSSL_CRMF_MSG_get0_tmpl(crm);
        X509_PUBKEY *xpk = t ? cmp_tmpl_publicKey(t) : NULL;
        EVP_PKEY *pk = xpk ? X509_PUBKEY_get0(xpk) : NULL;
        if (pk == NULL) {
            si = refuse(rq, OSSL_CMP_PKIFAILUREINFO_badCertTemplate,
                        "the template has no usable public key (no central key generation here)");
            goto out;
        }
        r.subject = (X509_NAME *)OSSL_CRMF_CERTTEMPLATE_get0_subject(t);
        /* kur may leave the subject out: it is the old certificate's. */
        if ((r.subject == NULL || X509_NAME_entry_count(r.subject) == 0) && rq->signer != NULL &&
            type == OSSL_CMP_PKIBODY_KUR)
            r.subject = X509_get_subject_name(rq->signer);
        if (r.subject == NULL || X509_NAME_entry_count(r.subject) == 0) {
            si = refuse(rq, OSSL_CMP_PKIFAILUREINFO_badCertTemplate, "the template has no subject");
            goto out;
        }
        if (split_exts(OSSL_CRMF_CERTTEMPLATE_get0_extensions(t), &sans, &rest) < 0) {
            si = refuse(rq, OSSL_CMP_PKIFAILUREINFO_badCertTemplate, "the template's extensions do not decode");
            goto out;
        }
        r.pubkey = pk;
        r.spki = xpk;
        r.sans = sans;
        r.extensions = rest;
        r.not_after = time_of(cmp_tmpl_notAfter(t));
    }
    if (type == OSSL_CMP_PKIBODY_KUR) {
        const OSSL_CRMF_CERTID *old = crm ? OSSL_CRMF_MSG_get0_regCtrl_oldCertID(crm) : NULL;
        char old_serial[CERTA_SERIAL_HEX_MAX];
        if (rq->auth != CMP_AUTH_CERT) {
            si = refuse(rq, OSSL_CMP_PKIFAILUREINFO_notAuthorized,
                        "kur must be signed with the certificate it updates");
            goto out;
        }
        if (old != NULL && (serial_hex(OSSL_CRMF_CERTID_get0_serialNumber(old), old_serial) < 0 ||
                            strcmp(old_serial, rq->signer_serial) != 0)) {
            si = refuse(rq, OSSL_CMP_PKIFAILUREINFO_badCertId, "oldCertID is not the signing certificate");
            goto out;
        }
        r.renewal_of = rq->signer_serial;
    }
    /* A device's own certificate only gets certificates for its own name. */
    if (rq->auth == CMP_AUTH_CERT && X509_NAME_cmp(r.subject, X509_get_subject_name(rq->signer)) != 0) {
        si = refuse(rq, OSSL_CMP_PKIFAILUREINFO_notAuthorized,
                    "a certificate-protected request must keep the certificate's subject");
        goto out;
    }
    if (rq->subject_pattern != NULL) {
        subject_text = certa_name_text(r.subject);
        if (subject_text == NULL || fnmatch(rq->subject_pattern, subject_text, 0) != 0) {
            si = refuse(rq, OSSL_CMP_PKIFAILUREINFO_notAuthorized,
                        "this reference value is not for subject %s", subject_text ? subject_text : "?");
            goto out;
        }
    }
    r.profile = rq->profile;
    r.protocol = "cmp";
    r.requester = rq->requester;
    r.transaction_id = rq->txid;
    int rc = certa_ca_submit(rq->ca, &r, &res);
    if (rc == CERTA_ENOTFOUND) {
        si = refuse(rq, OSSL_CMP_PKIFAILUREINFO_badRequest, "no such profile");
        goto out;
    }
    if (rc < 0) {
        certa_log(CERTA_LOG_ERROR, "cmp: issuing failed: %s", certa_error_last());
        si = refuse(rq, OSSL_CMP_PKIFAILUREINFO_systemFailure, "the CA could not issue now");
        goto out;
    }
    si = deliver(rq, &res, type == OSSL_CMP_PKIBODY_IR, certOut, chainOut, caPubs);
out:
    free(subject_text);
    GENERAL_NAMES_free(sans);
    sk_X509_EXTENSION_free(rest);
    certa_csr_request_clear(&csr);
    certa_issue_result_clear(&res);
    return si;
}

static OSSL_CMP_PKISI *rr(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, const X509_NAME *issuer,
                          const ASN1_INTEGER *serial)
{
    struct cmp_req *rq = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv);
    char hex[CERTA_SERIAL_HEX_MAX];
    int reason = CERTA_REASON_UNSPECIFIED;
    if (rq->fail_bit >= 0)
        return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection, 1 << rq->fail_bit, rq->fail_text);
    if (rq->auth != CMP_AUTH_CERT)
        return refuse(rq, OSSL_CMP_PKIFAILUREINFO_notAuthorized,
                      "rr must be signed with the certificate to revoke");
    if (issuer == NULL || serial == NULL || serial_hex(serial, hex) < 0)
        return refuse(rq, OSSL_CMP_PKIFAILUREINFO_badCertId, "rr names no issuer and serial");
    if (X509_NAME_cmp(issuer, X509_get_subject_name(certa_ca_cert(rq->ca))) != 0)
        return refuse(rq, OSSL_CMP_PKIFAILUREINFO_badCertId, "the certificate is not from this CA");
    if (strcmp(hex, rq->signer_serial) != 0)
        return refuse(rq, OSSL_CMP_PKIFAILUREINFO_notAuthorized, "a device may only revoke its own certificate");
    const X509_EXTENSIONS *exts = cmp_rr_entry_details(req);
    if (exts != NULL) {
        ASN1_ENUMERATED *e = X509V3_get_d2i(exts, NID_crl_reason, NULL, NULL);
        if (e != NULL) {
            reason = (int)ASN1_ENUMERATED_get(e);
            ASN1_ENUMERATED_free(e);
        }
    }
    int rc = certa_ca_revoke(rq->ca, hex, reason, 0);
    if (rc == CERTA_ESTATE)
        return refuse(rq, OSSL_CMP_PKIFAILUREINFO_certRevoked, "already revoked");
    if (rc == CERTA_EINVAL)
        return refuse(rq, OSSL_CMP_PKIFAILUREINFO_badRequest, "%s", certa_error_last());
    if (rc < 0) {
        certa_log(CERTA_LOG_ERROR, "cmp: revoking %s failed: %s", hex, certa_error_last());
        return refuse(rq, OSSL_CMP_PKIFAILUREINFO_systemFailure, "revocation failed");
    }
    rq->revoked_rr = 1;
    snprintf(rq->detail, sizeof(rq->detail), "revoked serial=%s reason=%d", hex, reason);
    return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, NULL);
}

static int genm(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, const STACK_OF(OSSL_CMP_ITAV) *in,
                STACK_OF(OSSL_CMP_ITAV) **out)
{
    struct cmp_req *rq = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv);
    (void)req;
    if (rq->fail_bit >= 0)
        return 0;
    return cmp_genm_answer(rq, in, out);
}

/* The client refused what we answered (e.g. the certificate). */
static void error_msg(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, const OSSL_CMP_PKISI *si,
                      const ASN1_INTEGER *code, const OSSL_CMP_PKIFREETEXT *details)
{
    struct cmp_req *rq = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv);
    (void)req, (void)si, (void)code, (void)details;
    if (rq->fail_bit >= 0 || !rq->have_txn)
        return;
    if (rq->txn.state == CMP_TXN_CONFIRM) {
        certa_ca_revoke(rq->ca, rq->txn.serial, CERTA_REASON_CESSATION_OF_OPERATION, 0);
        snprintf(rq->detail, sizeof(rq->detail), "client error: revoked serial=%s", rq->txn.serial);
    }
    rq->confirmed = 1;
}

static int cert_conf(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, int certReqId,
                     const ASN1_OCTET_STRING *certHash, const OSSL_CMP_PKISI *si)
{
    struct cmp_req *rq = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv);
    X509 *x = NULL;
    ASN1_OCTET_STRING *hash = NULL;
    int ok = 0;
    (void)req, (void)certReqId;
    if (rq->fail_bit >= 0 || !rq->have_txn || rq->txn.state != CMP_TXN_CONFIRM)
        return 0;
    if (certa_ca_find_cert(rq->ca, rq->txn.serial, &x) < 0)
        goto out;
    if ((hash = X509_digest_sig(x, NULL, NULL)) == NULL || certHash == NULL ||
        ASN1_STRING_length(hash) != ASN1_STRING_length(certHash) ||
        !certa_memeq_ct(ASN1_STRING_get0_data(hash), ASN1_STRING_get0_data(certHash),
                        (size_t)ASN1_STRING_length(hash))) {
        snprintf(rq->detail, sizeof(rq->detail), "certConf: certHash does not match serial=%s", rq->txn.serial);
        goto out;
    }
    int status = si != NULL ? cmp_pkisi_status(si) : OSSL_CMP_PKISTATUS_accepted;
    if (status != OSSL_CMP_PKISTATUS_accepted && status != OSSL_CMP_PKISTATUS_grantedWithMods) {
        if (certa_ca_revoke(rq->ca, rq->txn.serial, CERTA_REASON_CESSATION_OF_OPERATION, 0) < 0)
            goto out;
        snprintf(rq->detail, sizeof(rq->detail), "certConf rejected: revoked serial=%s", rq->txn.serial);
    } else {
        snprintf(rq->detail, sizeof(rq->detail), "certConf accepted serial=%s", rq->txn.serial);
    }
    rq->confirmed = 1;
    ok = 1;
out:
    ASN1_OCTET_STRING_free(hash);
    X509_free(x);
    return ok;
}

static int poll_req(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, int certReqId, OSSL_CMP_MSG **certReq,
                    int64_t *check_after)
{
    struct cmp_req *rq = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv);
    struct certa_issue_result res = { 0 };
    (void)req, (void)certReqId;
    *certReq = NULL;
    if (rq->fail_bit >= 0 || !rq->have_txn || rq->txn.state != CMP_TXN_POLLING)
        return 0;
    if (certa_ca_poll(rq->ca, "cmp", rq->txid, &res) < 0)
        return 0;
    int decision = res.decision;
    certa_issue_result_clear(&res);
    if (decision == CERTA_DECISION_PENDING) {
        *check_after = rq->st->poll_interval;
        rq->pending = 1;
        snprintf(rq->detail, sizeof(rq->detail), "pollRep checkAfter=%lld", (long long)*check_after);
        return 1;
    }
    const unsigned char *p = rq->txn.orig;
    if ((*certReq = d2i_OSSL_CMP_MSG(NULL, &p, (long)rq->txn.orig_len)) == NULL)
        return 0;
    rq->from_poll = 1;
    return 1;
}

int cmp_srv_init(OSSL_CMP_SRV_CTX *srv, struct cmp_req *rq)
{
    return OSSL_CMP_SRV_CTX_init(srv, rq, cert_request, rr, genm, error_msg, cert_conf, poll_req) ? 0 : -1;
}
