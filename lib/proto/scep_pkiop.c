/* SCEP PKIOperation: one pkiMessage in, one signed CertRep out. PKCSReq and
 * RenewalReq go through the issuance pipeline (certa_ca_prepare here, then
 * certa_ca_record_prepared in scep_batch.c's group commit); CertPoll
 * through certa_ca_poll; GetCert and GetCRL read the store.
 *
 * Who gets a certificate (PKCSReq):
 *  - a valid challenge password (certa ca challenge create) authenticates the
 *    request: the profile's approval decides (auto: issued now; manual:
 *    PENDING for `certa ca approve`); the password's use is spent either way,
 *    also when the profile then refuses the request;
 *  - without a valid one (missing, unknown, wrong, used up, expired, other
 *    subject): refused with failInfo badRequest when the profile approves
 *    automatically; PENDING when it is manual (the operator decides: IOS-style
 *    devices send a password of their own choosing and poll);
 *  - RenewalReq, or a PKCSReq without a password signed by a valid
 *    certificate of this CA: the certificate authenticates it (same subject
 *    required; recorded with renewal_of), and the profile's approval decides.
 *    (A PKCSReq with a password signed by a certificate that cannot renew,
 *    expired or revoked, takes the password path: the device enrolls afresh.)
 * A transactionID is bound to the key that signs its messages: another key
 * is refused (badRequest); the same key resending gets the stored outcome. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include "certa/challenge.h"
#include "certa/csr.h"
#include "scep_internal.h"

struct op {
    struct scep_state *st;
    certa_ca *ca;
    struct certa_http_response *res;
    struct scep_msg m;
    X509 *rcert;                /* our recipient and signer: RA or CA */
    EVP_PKEY *rkey;
    int reply_md;
    char key_id[65];            /* SHA-256 of the requester's public key */
};

static int reply(struct op *o, int status, int fail, const unsigned char *content, size_t len)
{
    certa_buf out = { 0 };
    struct scep_reply r = {
        .sign_cert = o->rcert, .sign_key = o->rkey, .extra_certs = o->st->ra_extra,
        .md_nid = o->reply_md, .req = &o->m, .status = status, .fail_info = fail,
        .content = content, .content_len = len,
    };
    int rc = scep_certrep(&r, &out);
    if (rc == 0)
        rc = certa_http_respond(o->res, 200, "application/x-pki-message", out.data, out.len);
    certa_buf_free(&out);
    return rc;
}

static int fail(struct op *o, const struct scep_fail_res *f)
{
    snprintf(o->res->log_detail, sizeof(o->res->log_detail), "%s txid=%.32s failInfo=%s: %.110s",
             scep_msg_name(o->m.msg_type), o->m.txid, scep_fail_name(f->info), f->why);
    return reply(o, SCEP_FAILURE, f->info, NULL, 0);
}

static int failf(struct op *o, int info, const char *why)
{
    struct scep_fail_res f;
    scep_fail(&f, info, "%s", why);
    return fail(o, &f);
}

static void serial_hex(X509 *x, char out[CERTA_SERIAL_HEX_MAX])
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    out[0] = '\0';
    if (hex == NULL || certa_serial_normalize(hex, out, CERTA_SERIAL_HEX_MAX) < 0)
        snprintf(out, CERTA_SERIAL_HEX_MAX, "?");
    OPENSSL_free(hex);
    BN_free(bn);
}

static int reply_certs(struct op *o, X509 *cert, const unsigned char *crl, size_t crl_len, const char *what)
{
    certa_buf content = { 0 };
    int rc = scep_degenerate(cert ? &cert : NULL, cert ? 1 : 0, crl, crl_len, &content);
    if (rc == 0) {
        snprintf(o->res->log_detail, sizeof(o->res->log_detail), "%s txid=%.32s %s",
                 scep_msg_name(o->m.msg_type), o->m.txid, what);
        rc = reply(o, SCEP_SUCCESS, 0, content.data, content.len);
    }
    certa_buf_free(&content);
    return rc;
}

/* The pipeline's decision (fresh or stored) as a CertRep. */
static int answer(struct op *o, const struct certa_issue_result *r)
{
    char what[96];
    switch (r->decision) {
    case CERTA_DECISION_ISSUED: {
        char serial[CERTA_SERIAL_HEX_MAX];
        serial_hex(r->cert, serial);
        snprintf(what, sizeof(what), "issued serial=%s", serial);
        return reply_certs(o, r->cert, NULL, 0, what);
    }
    case CERTA_DECISION_PENDING:
        snprintf(o->res->log_detail, sizeof(o->res->log_detail), "%s txid=%.32s pending request_id=%lld",
                 scep_msg_name(o->m.msg_type), o->m.txid, (long long)r->request_id);
        return reply(o, SCEP_PENDING, 0, NULL, 0);
    default: {
        struct scep_fail_res f;
        scep_fail(&f, r->reject_kind == CERTA_REJECT_BAD_ALG ? SCEP_BADALG : SCEP_BADREQUEST,
                  "refused: %s", r->reason);
        return fail(o, &f);
    }
    }
}

/* Binds the transaction to the requester's key (no write when it already
 * is). 0 ok, 1 answered (another key) or failed (rc < 0). */
static int bind_txn(struct op *o, int *rc)
{
    pthread_mutex_lock(&o->st->write_lock);
    *rc = certa_store_txn_bind(certa_ca_store(o->ca), "scep", o->m.txid, o->key_id, 0, NULL);
    pthread_mutex_unlock(&o->st->write_lock);
    if (*rc == CERTA_EEXIST) {
        *rc = failf(o, SCEP_BADREQUEST, "transactionID was used before with another key");
        return 1;
    }
    return *rc < 0 ? 1 : 0;
}

/* A request already stored for this transaction (a resend, or a poll by
 * resending PKCSReq as older clients do): its outcome, if the key matches.
 * Clients that derive the transactionID from the key (scepclient) renew
 * under the transactionID that issued the signer's certificate: when
 * renewing_signer is that very certificate, this is a new request.
 * Returns 1 when answered (rc set), 0 when there is none. */
static int answer_stored(struct op *o, X509 *renewing_signer, int *rc)
{
    struct certa_issue_result r = { 0 };
    *rc = certa_ca_poll(o->ca, "scep", o->m.txid, &r);
    if (*rc == CERTA_ENOTFOUND || (*rc == 0 && r.decision == CERTA_DECISION_ISSUED && renewing_signer &&
                                   X509_cmp(r.cert, renewing_signer) == 0)) {
        certa_issue_result_clear(&r);
        *rc = 0;
        return 0;
    }
    if (*rc == 0 && !bind_txn(o, rc))
        *rc = answer(o, &r);
    certa_issue_result_clear(&r);
    return 1;
}

/* The signer certificate is one this CA issued and that is still good.
 * Most are self-signed: the issuer's name settles those before the
 * certificate is decoded. */
static int signer_is_ours(struct op *o, char serial[CERTA_SERIAL_HEX_MAX])
{
    const PKCS7_ISSUER_AND_SERIAL *ias = o->m.si->issuer_and_serial;
    if (ias == NULL || X509_NAME_cmp(ias->issuer, X509_get_subject_name(o->st->ca_cert)) != 0)
        return 0;
    X509 *s = scep_msg_signer_cert(&o->m);
    if (s == NULL || X509_check_issued(o->st->ca_cert, s) != X509_V_OK ||
        X509_verify(s, X509_get0_pubkey(o->st->ca_cert)) != 1) {
        ERR_clear_error();
        return 0;
    }
    serial_hex(s, serial);
    return 1;
}

/* After signer_is_ours: the signer's certificate is decoded. */
static int check_renewal_signer(struct op *o, const X509_NAME *subject, struct scep_fail_res *f)
{
    X509 *s = scep_msg_signer_cert(&o->m);
    if (X509_cmp_current_time(X509_get0_notAfter(s)) <= 0 || X509_cmp_current_time(X509_get0_notBefore(s)) > 0)
        return scep_fail(f, SCEP_BADREQUEST, "renewal signed with a certificate that is not valid now");
    const ASN1_INTEGER *sn = X509_get0_serialNumber(s);
    struct certa_cert_status cs;
    int rc = certa_ca_status(o->ca, ASN1_STRING_get0_data(sn), (size_t)ASN1_STRING_length(sn), &cs);
    if (rc < 0)
        return rc;
    if (cs.state != CERTA_STATE_GOOD)
        return scep_fail(f, SCEP_BADREQUEST, "renewal signed with a %s certificate",
                         cs.state == CERTA_STATE_REVOKED ? "revoked" : "unknown");
    if (X509_NAME_cmp(subject, X509_get_subject_name(s)) != 0)
        return scep_fail(f, SCEP_BADREQUEST, "renewal asks for another subject than the current certificate");
    return 0;
}

static const char *challenge_problem(int rc)
{
    switch (rc) {
    case CERTA_ENOTFOUND: return "no challenge password";
    case CERTA_EPASS: return "challenge password unknown or wrong";
    case CERTA_ESTATE: return "challenge password used up or expired";
    case CERTA_EPOLICY: return "challenge password is not for this subject";
    default: return "challenge password not usable";
    }
}

static int enroll(struct op *o)
{
    struct scep_fail_res f;
    struct certa_csr_view csr = { 0 };
    struct certa_csr_request cr = { 0 };
    struct certa_ca_prepared prep = { 0 };
    char *pw = NULL;
    char requester[CERTA_SERIAL_HEX_MAX + 16], ref[CERTA_CHALLENGE_REF_LEN + 1], serial[CERTA_SERIAL_HEX_MAX] = "";
    /* In a PKCSReq the request's key is the signer certificate's (a
     * renewal may bring another): decoded once, not twice. */
    int rc = certa_csr_view_parse(o->m.inner, o->m.inner_len, o->m.signer_spki, o->m.signer_spki_len,
                                  o->m.signer_key, &csr);
    if (rc < 0) {
        rc = failf(o, rc == CERTA_ECRYPTO ? SCEP_BADMESSAGECHECK : SCEP_BADREQUEST,
                   rc == CERTA_ECRYPTO ? "PKCS#10 signature does not verify" : "content is not a PKCS#10 request");
        goto out;
    }
    pw = certa_csr_view_challenge(&csr);
    int renewal = o->m.msg_type == SCEP_RENEWALREQ || signer_is_ours(o, serial);
    if (answer_stored(o, renewal ? scep_msg_signer_cert(&o->m) : NULL, &rc))
        goto out;
    const certa_profile *p = certa_ca_profile(o->ca, o->st->profile);
    if (p == NULL) {
        rc = CERTA_ENOTFOUND;
        goto out;
    }
    int manual = certa_profile_manual_approval(p);
    int chal = CERTA_ENOTFOUND, uses_left = 0;
    if (renewal) {
        if (serial[0] == '\0' && !signer_is_ours(o, serial)) {
            rc = failf(o, SCEP_BADREQUEST, "RenewalReq not signed by a certificate of this CA");
            goto out;
        }
        rc = check_renewal_signer(o, csr.subject, &f);
        if (rc > 0 && o->m.msg_type == SCEP_PKCSREQ && pw != NULL) {
            /* A certificate that cannot renew (expired, revoked): a PKCSReq
             * that brings a password enrolls afresh with it. */
            renewal = 0;
            rc = 0;
        } else if (rc != 0) {
            if (rc > 0)
                rc = fail(o, &f);
            goto out;
        }
    }
    if (renewal) {
        snprintf(requester, sizeof(requester), "cert:%s", serial);
    } else {
        if (pw != NULL)
            chal = certa_challenge_check(certa_ca_store(o->ca), pw, csr.subject,
                                         (int64_t)time(NULL), ref, &uses_left);
        if (chal < 0 && chal != CERTA_EPASS && chal != CERTA_ESTATE && chal != CERTA_EPOLICY &&
            chal != CERTA_ENOTFOUND) {
            rc = chal;
            goto out;
        }
        if (chal != 0 && !manual) {
            rc = failf(o, SCEP_BADREQUEST, challenge_problem(chal));
            goto out;
        }
        snprintf(requester, sizeof(requester), chal == 0 ? "challenge:%s" : "%s",
                 chal == 0 ? ref : pw ? "unverified-challenge" : "none");
    }
    if ((rc = certa_request_from_csr_view(&csr, &cr)) < 0)
        goto out;
    cr.req.profile = o->st->profile;
    cr.req.protocol = "scep";
    cr.req.transaction_id = o->m.txid;
    cr.req.renewal_of = renewal ? serial : NULL;
    struct scep_enrollment e = {
        /* An unlimited password has no use to spend: nothing to write. */
        .txid = o->m.txid, .key_id = o->key_id, .ref = chal == 0 && uses_left >= 0 ? ref : NULL, .manual = manual,
        .prep = &prep,
    };
    snprintf(e.requester, sizeof(e.requester), "%s", requester);
    cr.req.requester = e.requester;
    /* Decided and signed here, in this worker, in parallel with the others;
     * recorded in the next group commit, and returned only after it. */
    if ((rc = certa_ca_prepare(o->ca, &cr.req, &prep)) < 0)
        goto out;
    scep_enroll_queue(o->st, &e);
    /* While the commit runs (or waits for a leader), this worker signs the
     * CertRep that carries the certificate, with a reference of its own to
     * it; the answer leaves only once the commit succeeded, else it is
     * replaced by the failure's. */
    X509 *pre = NULL;
    int pre_rc = 0;
    if (prep.res.decision == CERTA_DECISION_ISSUED && X509_up_ref(prep.res.cert)) {
        pre = prep.res.cert;
        struct certa_issue_result r = { .decision = CERTA_DECISION_ISSUED, .cert = pre };
        pre_rc = answer(o, &r);
    }
    rc = scep_enroll_wait(o->st, o->ca, &e);
    if (rc < 0) {
        /* Nothing was stored: the CertRep built meanwhile must not leave. */
        o->res->body.len = 0;
    } else if (e.refused == SCEP_REFUSED_TXN) {
        rc = failf(o, SCEP_BADREQUEST, "transactionID was used before with another key");
    } else if (e.refused == SCEP_REFUSED_CHALLENGE) {
        rc = failf(o, SCEP_BADREQUEST, challenge_problem(CERTA_ESTATE));
    } else if (pre == NULL || pre != prep.res.cert || pre_rc < 0) {
        /* Not built ahead, or re-signed in the commit (serial collision). */
        o->res->body.len = 0;
        rc = answer(o, &prep.res);
    }
    X509_free(pre);
out:
    if (pw)
        OPENSSL_clear_free(pw, strlen(pw));
    certa_ca_prepared_clear(&prep);
    certa_csr_request_clear(&cr);
    certa_csr_view_clear(&csr);
    return rc;
}

static int poll(struct op *o)
{
    int rc;
    if (!answer_stored(o, NULL, &rc))
        rc = failf(o, SCEP_BADCERTID, "no request with this transactionID");
    return rc;
}

/* IssuerAndSerialNumber of GetCert and GetCRL, for this CA only. */
static PKCS7_ISSUER_AND_SERIAL *issuer_and_serial(struct op *o, int *rc)
{
    const unsigned char *p = o->m.inner;
    PKCS7_ISSUER_AND_SERIAL *ias = d2i_PKCS7_ISSUER_AND_SERIAL(NULL, &p, (long)o->m.inner_len);
    if (ias == NULL) {
        ERR_clear_error();
        *rc = failf(o, SCEP_BADREQUEST, "content is not an IssuerAndSerialNumber");
        return NULL;
    }
    if (X509_NAME_cmp(ias->issuer, X509_get_subject_name(o->st->ca_cert)) != 0) {
        PKCS7_ISSUER_AND_SERIAL_free(ias);
        *rc = failf(o, SCEP_BADCERTID, "issuer is not this CA");
        return NULL;
    }
    return ias;
}

static int get_cert(struct op *o)
{
    int rc = 0;
    X509 *x = NULL;
    PKCS7_ISSUER_AND_SERIAL *ias = issuer_and_serial(o, &rc);
    if (ias == NULL)
        return rc;
    BIGNUM *bn = ASN1_INTEGER_to_BN(ias->serial, NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    if (hex == NULL)
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
    else if ((rc = certa_ca_find_cert(o->ca, hex, &x)) == CERTA_ENOTFOUND || rc == CERTA_EINVAL)
        rc = failf(o, SCEP_BADCERTID, "no certificate with this serial");
    else if (rc == 0) {
        char what[96];
        snprintf(what, sizeof(what), "certificate serial=%.66s", hex);
        rc = reply_certs(o, x, NULL, 0, what);
    }
    X509_free(x);
    OPENSSL_free(hex);
    BN_free(bn);
    PKCS7_ISSUER_AND_SERIAL_free(ias);
    return rc;
}

/* A full CRL, rebuilt at most every crl_max_age seconds or after a revocation. */
static int get_crl(struct op *o)
{
    int rc = 0;
    PKCS7_ISSUER_AND_SERIAL *ias = issuer_and_serial(o, &rc);
    if (ias == NULL)
        return rc;
    PKCS7_ISSUER_AND_SERIAL_free(ias);
    struct scep_state *st = o->st;
    certa_buf crl = { 0 };
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(&st->crl_lock);
    if (st->crl_at == 0 || now - st->crl_at >= st->crl_max_age) {
        certa_buf fresh = { 0 };
        pthread_mutex_lock(&st->write_lock);
        rc = certa_ca_crl(o->ca, 0, &fresh);
        pthread_mutex_unlock(&st->write_lock);
        if (rc == 0) {
            certa_buf_free(&st->crl);
            st->crl = fresh;
            st->crl_at = now;
        }
    }
    if (rc == 0)
        rc = certa_buf_append(&crl, st->crl.data, st->crl.len);
    pthread_mutex_unlock(&st->crl_lock);
    if (rc == 0)
        rc = reply_certs(o, NULL, crl.data, crl.len, "CRL");
    certa_buf_free(&crl);
    return rc;
}

/* SHA-256 of the signer's SubjectPublicKeyInfo as it sent it. */
static int key_id(const struct scep_msg *m, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(m->signer_spki, m->signer_spki_len, md, &mdlen, EVP_sha256(), NULL) != 1)
        return certa_error_ossl(CERTA_ECRYPTO, "hashing the requester's key");
    certa_hex_encode(md, mdlen, out);
    return 0;
}

static int signing_time_ok(struct op *o)
{
    if (o->st->clock_skew <= 0)
        return 1;
    ASN1_TYPE *t = PKCS7_get_signed_attribute(o->m.si, NID_pkcs9_signingTime);
    if (t == NULL || (t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME))
        return 1;
    int day = 0, sec = 0;
    if (!ASN1_TIME_diff(&day, &sec, NULL, t->value.utctime))
        return 0;
    int64_t off = (int64_t)day * 86400 + sec;
    return (off < 0 ? -off : off) <= o->st->clock_skew;
}

int scep_pkioperation(struct scep_state *st, certa_ca *ca, const unsigned char *der, size_t len,
                      struct certa_http_response *res)
{
    struct op o = { .st = st, .ca = ca, .res = res, .reply_md = NID_sha256 };
    struct scep_fail_res f;
    int rc = scep_msg_parse(der, len, &o.m);
    if (rc == CERTA_EPROTO) {
        snprintf(res->log_detail, sizeof(res->log_detail), "PKIOperation: %s", certa_error_last());
        rc = certa_http_respond_error(res, 400, "%s", certa_error_last());
        goto out;
    }
    if (rc < 0)
        goto out;
    o.rcert = st->ra_cert ? st->ra_cert : st->ca_cert;
    o.rkey = st->ra_key ? st->ra_key : certa_ca_key(ca);
    if (o.rkey == NULL) {
        rc = certa_error_set(CERTA_ESTATE, "SCEP needs the CA key");
        goto out;
    }
    if (scep_msg_verify(&o.m, st->legacy, &f)) {
        rc = fail(&o, &f);
        goto out;
    }
    o.reply_md = o.m.md_nid;
    if (!signing_time_ok(&o)) {
        rc = failf(&o, SCEP_BADTIME, "signingTime too far from the CA's clock");
        goto out;
    }
    switch (o.m.msg_type) {
    case SCEP_PKCSREQ: case SCEP_RENEWALREQ: case SCEP_CERTPOLL: case SCEP_GETCERT: case SCEP_GETCRL:
        break;
    default:
        rc = failf(&o, SCEP_BADREQUEST, "unknown or unsupported messageType");
        goto out;
    }
    /* Replies are enveloped for the requester's certificate: RSA only. */
    if (!EVP_PKEY_is_a(o.m.signer_key, "RSA")) {
        rc = failf(&o, SCEP_BADALG, "the requester's key must be RSA to receive an envelope");
        goto out;
    }
    if (scep_msg_open(&o.m, o.rcert, o.rkey, st->legacy, &f)) {
        rc = fail(&o, &f);
        goto out;
    }
    if ((rc = key_id(&o.m, o.key_id)) < 0)
        goto out;
    switch (o.m.msg_type) {
    case SCEP_PKCSREQ: case SCEP_RENEWALREQ: rc = enroll(&o); break;
    case SCEP_CERTPOLL: rc = poll(&o); break;
    case SCEP_GETCERT: rc = get_cert(&o); break;
    default: rc = get_crl(&o); break;
    }
out:
    scep_msg_clear(&o.m);
    return rc;
}
