/* The CMP server module for certad (RFC 4210/9810 over HTTP, RFC 6712): one
 * POSTed PKIMessage in, one protected PKIMessage out. Before OpenSSL's
 * OSSL_CMP_SRV_CTX runs, the request is authenticated (PBM secret by
 * reference value, or a certificate from this CA or a manufacturer anchor),
 * its time, version and nonces checked and its transactionID and
 * senderNonce spent once; a refusal found there is answered by the same
 * OpenSSL server with the matching PKIFailureInfo.
 *
 * An OSSL_CMP_SRV_CTX keeps per-transaction state and is not thread-safe,
 * and certConf / pollReq may reach any worker: each request gets a fresh
 * one (cheap next to the signature), with the transaction's state restored
 * from the shared table in cmp_txn.c.
 *
 * The rollover CA for genm root CA update comes from [ca] next_ca_cert
 * (with next_ca_cross_cert / newwithold and next_ca_old_with_new), checked
 * and encoded once at start; a bad one stops the start. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "certa/log.h"
#include "ca/ca_internal.h"
#include "proto/cmp_internal.h"

static const char *const cmp_paths[] = { "/cmp", "/.well-known/cmp", "/.well-known/cmp/p/", NULL };

static const char *body_name(int t)
{
    switch (t) {
    case OSSL_CMP_PKIBODY_IR: return "ir";
    case OSSL_CMP_PKIBODY_CR: return "cr";
    case OSSL_CMP_PKIBODY_P10CR: return "p10cr";
    case OSSL_CMP_PKIBODY_KUR: return "kur";
    case OSSL_CMP_PKIBODY_RR: return "rr";
    case OSSL_CMP_PKIBODY_GENM: return "genm";
    case OSSL_CMP_PKIBODY_CERTCONF: return "certConf";
    case OSSL_CMP_PKIBODY_POLLREQ: return "pollReq";
    case OSSL_CMP_PKIBODY_ERROR: return "error";
    default: return "other";
    }
}

static const char *const fail_names[] = {
    "badAlg", "badMessageCheck", "badRequest", "badTime", "badCertId", "badDataFormat",
    "wrongAuthority", "incorrectData", "missingTimeStamp", "badPOP", "certRevoked",
    "certConfirmed", "wrongIntegrity", "badRecipientNonce", "timeNotAvailable",
    "unacceptedPolicy", "unacceptedExtension", "addInfoNotAvailable", "badSenderNonce",
    "badCertTemplate", "signerNotTrusted", "transactionIdInUse", "unsupportedVersion",
    "notAuthorized", "systemUnavail", "systemFailure", "duplicateCertReq",
};

/* ---- settings ----------------------------------------------------------- */

static const char *setting(const struct certa_service_env *env, const char *key)
{
    return env->setting ? env->setting(env->setting_arg, "cmp", key) : certa_ca_setting(env->ca, "cmp", key);
}

/* A [ca] setting (certad's config first when it has one, else ca.conf). */
static const char *ca_setting(const struct certa_service_env *env, const char *key)
{
    const char *v = env->setting ? env->setting(env->setting_arg, "ca", key) : NULL;
    return v ? v : certa_ca_setting(env->ca, "ca", key);
}

/* The root CA update answer, when a rollover CA is configured; a bad one
 * stops the start. */
static int load_rootca_update(const struct certa_service_env *env, struct cmp_state *st)
{
    struct certa_ca_next next;
    const char *cross = ca_setting(env, "next_ca_cross_cert");
    if (cross == NULL)
        cross = ca_setting(env, "newwithold");
    int rc = certa_ca_next_load(env->ca, ca_setting(env, "next_ca_cert"), cross,
                                ca_setting(env, "next_ca_old_with_new"), &next);
    if (rc < 0 || next.cert == NULL)
        return rc;
    if (cmp_rootca_encode(next.cert, next.new_with_old, next.old_with_new, &st->rootca_update) < 0)
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot encode the root CA update");
    certa_ca_next_clear(&next);
    return rc;
}

static int setting_int(const struct certa_service_env *env, const char *key, int64_t def, int64_t min,
                       int64_t max, int64_t *out)
{
    const char *v = setting(env, key);
    char *end;
    *out = def;
    if (v == NULL)
        return 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end || n < min || n > max)
        return certa_error_set(CERTA_EINVAL, "[cmp] %s = %s: expected %lld..%lld", key, v, (long long)min,
                               (long long)max);
    *out = n;
    return 0;
}

static void cmp_stop(void *state)
{
    struct cmp_state *st = state;
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->ntxns; i++)
        cmp_txn_clear(&st->txns[i]);
    free(st->txns);
    X509_STORE_free(st->anchors);
    ASN1_STRING_free(st->rootca_update);
    OPENSSL_free(st->garbage_der);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static int cmp_start(const struct certa_service_env *env, void **state)
{
    struct cmp_state *st = calloc(1, sizeof(*st));
    int64_t max_txns = 0;
    int rc;
    if (st == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    pthread_mutex_init(&st->lock, NULL);
    const char *ic = setting(env, "implicit_confirm");
    st->implicit_confirm = 1;
    if (ic != NULL) {
        if (strcmp(ic, "yes") == 0 || strcmp(ic, "true") == 0 || strcmp(ic, "1") == 0) {
            st->implicit_confirm = 1;
        } else if (strcmp(ic, "no") == 0 || strcmp(ic, "false") == 0 || strcmp(ic, "0") == 0) {
            st->implicit_confirm = 0;
        } else {
            rc = certa_error_set(CERTA_EINVAL, "[cmp] implicit_confirm = %s: expected yes or no", ic);
            goto fail;
        }
    }
    if ((rc = setting_int(env, "max_skew", 300, 1, 86400, &st->max_skew)) < 0 ||
        (rc = setting_int(env, "confirm_timeout", 300, 1, 86400, &st->confirm_timeout)) < 0 ||
        (rc = setting_int(env, "poll_interval", 10, 1, 3600, &st->poll_interval)) < 0 ||
        (rc = setting_int(env, "poll_lifetime", 7 * 86400, 60, 365 * 86400, &st->poll_lifetime)) < 0 ||
        (rc = setting_int(env, "max_transactions", 4096, 16, 1000000, &max_txns)) < 0)
        goto fail;
    st->max_txns = (size_t)max_txns;
    if ((st->txns = calloc(st->max_txns, sizeof(st->txns[0]))) == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto fail;
    }
    const char *anchors = setting(env, "trust_anchors");
    if (anchors != NULL && anchors[0]) {
        if ((st->anchors = X509_STORE_new()) == NULL || !X509_STORE_load_file(st->anchors, anchors)) {
            rc = certa_error_ossl(CERTA_EINVAL, "[cmp] trust_anchors = %s: cannot load certificates", anchors);
            goto fail;
        }
    }
    if ((rc = load_rootca_update(env, st)) < 0)
        goto fail;
    *state = st;
    return 0;
fail:
    cmp_stop(st);
    return rc;
}

/* Revokes certificates whose certConf never came. */
static void cmp_tick(void *state, certa_ca *ca)
{
    char serials[64][CERTA_SERIAL_HEX_MAX];
    size_t n = cmp_txn_expired(state, (int64_t)time(NULL), serials, 64);
    for (size_t i = 0; i < n; i++) {
        int rc = certa_ca_revoke(ca, serials[i], CERTA_REASON_CESSATION_OF_OPERATION, 0);
        certa_log(rc == 0 ? CERTA_LOG_INFO : CERTA_LOG_WARN, "cmp: serial %s never confirmed: %s", serials[i],
                  rc == 0 ? "revoked" : certa_error_last());
    }
}

/* ---- checks before OpenSSL runs ------------------------------------------ */

static void fail(struct cmp_req *rq, int bit, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct cmp_req *rq, int bit, const char *fmt, ...)
{
    if (rq->fail_bit >= 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rq->fail_text, sizeof(rq->fail_text), fmt, ap);
    va_end(ap);
    rq->fail_bit = bit;
}

static int is_new_transaction(int type)
{
    return type == OSSL_CMP_PKIBODY_IR || type == OSSL_CMP_PKIBODY_CR || type == OSSL_CMP_PKIBODY_P10CR ||
           type == OSSL_CMP_PKIBODY_KUR || type == OSSL_CMP_PKIBODY_RR || type == OSSL_CMP_PKIBODY_GENM;
}

static int is_cert_request(int type)
{
    return type == OSSL_CMP_PKIBODY_IR || type == OSSL_CMP_PKIBODY_CR || type == OSSL_CMP_PKIBODY_P10CR ||
           type == OSSL_CMP_PKIBODY_KUR;
}

static int silent_log(const char *func, const char *file, int line, OSSL_CMP_severity level, const char *msg)
{
    (void)func, (void)file, (void)line;
    if (level <= OSSL_CMP_LOG_WARNING)
        certa_log(CERTA_LOG_DEBUG, "cmp: openssl: %s", msg);
    return 1;
}

OSSL_CMP_CTX *cmp_plain_ctx(void)
{
    OSSL_CMP_CTX *c = OSSL_CMP_CTX_new(NULL, NULL);
    if (c != NULL) {
        OSSL_CMP_CTX_set_log_cb(c, silent_log);
        OSSL_CMP_CTX_set_log_verbosity(c, OSSL_CMP_LOG_WARNING);
    }
    return c;
}

/* MAC: the secret named by senderKID, sane PBM parameters, a MAC that checks. */
static void auth_mac(struct cmp_req *rq, const OSSL_CMP_MSG *msg, const X509_ALGOR *alg,
                     unsigned char **secret, size_t *secret_len)
{
    const ASN1_OCTET_STRING *kid = cmp_hdr_senderKID(msg);
    struct certa_secret_row row = { 0 };
    int type = rq->body_type;
    if (kid == NULL || ASN1_STRING_length(kid) < 1 || ASN1_STRING_length(kid) > CERTA_CMP_REF_MAX) {
        fail(rq, OSSL_CMP_PKIFAILUREINFO_badMessageCheck, "MAC protection without a reference value");
        return;
    }
    const unsigned char *k = ASN1_STRING_get0_data(kid);
    for (int i = 0; i < ASN1_STRING_length(kid); i++)
        if (!isprint(k[i])) {
            fail(rq, OSSL_CMP_PKIFAILUREINFO_badMessageCheck, "unknown reference value");
            return;
        }
    memcpy(rq->mac_ref, k, (size_t)ASN1_STRING_length(kid));
    rq->mac_ref[ASN1_STRING_length(kid)] = 0;

    const ASN1_OBJECT *aobj = NULL;
    int ptype = 0;
    const void *pval = NULL;
    X509_ALGOR_get0(&aobj, &ptype, &pval, alg);
    OSSL_CRMF_PBMPARAMETER *pbm = ptype == V_ASN1_SEQUENCE
        ? ASN1_item_unpack(pval, ASN1_ITEM_rptr(OSSL_CRMF_PBMPARAMETER)) : NULL;
    size_t salt_len = 0;
    long iter = 0;
    int ok = pbm != NULL && cmp_pbm_params(pbm, &salt_len, &iter) == 0;
    OSSL_CRMF_PBMPARAMETER_free(pbm);
    if (!ok) {
        fail(rq, OSSL_CMP_PKIFAILUREINFO_badAlg, "PBM parameters do not decode");
        return;
    }
    if (iter < 100 || iter > 100000) {
        fail(rq, OSSL_CMP_PKIFAILUREINFO_badAlg, "PBM iteration count %ld outside 100..100000", iter);
        return;
    }
    if (salt_len < 8 || salt_len > 64) {
        fail(rq, OSSL_CMP_PKIFAILUREINFO_badAlg, "PBM salt of %zu octets (8..64 accepted)", salt_len);
        return;
    }
    int rc = certa_cmp_secret_get(rq->ca, rq->mac_ref, secret, secret_len, &row);
    if (rc == CERTA_ENOTFOUND) {
        fail(rq, OSSL_CMP_PKIFAILUREINFO_badMessageCheck, "unknown reference value");
        return;
    }
    if (rc < 0) {
        certa_log(CERTA_LOG_ERROR, "cmp: reading secret %s: %s", rq->mac_ref, certa_error_last());
        fail(rq, OSSL_CMP_PKIFAILUREINFO_systemFailure, "secrets unavailable");
        return;
    }
    OSSL_CMP_CTX *c = cmp_plain_ctx();
    ok = c != NULL && OSSL_CMP_CTX_set1_secretValue(c, *secret, (int)*secret_len) &&
         OSSL_CMP_validate_msg(c, msg);
    OSSL_CMP_CTX_free(c);
    ERR_clear_error();
    if (!ok) {
        fail(rq, OSSL_CMP_PKIFAILUREINFO_badMessageCheck, "the MAC does not verify");
        goto out;
    }
    rq->auth = CMP_AUTH_MAC;
    snprintf(rq->requester, sizeof(rq->requester), "mac:%s", rq->mac_ref);
    int64_t now = (int64_t)time(NULL);
    int spent = row.uses_left == 0 || (row.expires_at != 0 && row.expires_at <= now);
    if ((is_cert_request(type) || type == OSSL_CMP_PKIBODY_GENM) && spent) {
        fail(rq, OSSL_CMP_PKIFAILUREINFO_notAuthorized, "the reference value is used up or expired");
        goto out;
    }
    /* A counted secret loses a use with the nonces, in one commit. */
    rq->consume_secret = is_cert_request(type) && row.uses_left > 0;
    if (row.subject_pattern != NULL)
        rq->subject_pattern = strdup(row.subject_pattern);
out:
    certa_secret_row_clear(&row);
}

static int serial_of(const X509 *x, char out[CERTA_SERIAL_HEX_MAX])
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    int rc = hex ? certa_serial_normalize(hex, out, CERTA_SERIAL_HEX_MAX) : CERTA_ENOMEM;
    OPENSSL_free(hex);
    BN_free(bn);
    return rc;
}

/* Signature: the first extraCert protects the message (RFC 9483 3.3); it is
 * the device's current certificate from this CA, or one chaining to a
 * manufacturer anchor. */
static void auth_sig(struct cmp_req *rq, const OSSL_CMP_MSG *msg)
{
    const STACK_OF(X509) *extra = cmp_msg_extraCerts(msg);
    X509 *signer = sk_X509_num(extra) > 0 ? sk_X509_value(extra, 0) : NULL;
    X509 *ca = certa_ca_cert(rq->ca);
    if (signer == NULL) {
        fail(rq, OSSL_CMP_PKIFAILUREINFO_badMessageCheck, "signature protection without the signer's certificate");
        return;
    }
    if (serial_of(signer, rq->signer_serial) < 0) {
        fail(rq, OSSL_CMP_PKIFAILUREINFO_badDataFormat, "the signer's serial number is unusable");
        return;
    }
    int ours = X509_check_issued(ca, signer) == X509_V_OK && X509_verify(signer, X509_get0_pubkey(ca)) == 1;
    if (ours) {
        struct certa_cert_row row = { 0 };
        int rc = certa_store_cert_get(certa_ca_store(rq->ca), rq->signer_serial, &row);
        int64_t now = (int64_t)time(NULL);
        int status = row.status, valid = rc == 0 && row.not_after > now && row.not_before <= now + rq->st->max_skew;
        certa_cert_row_clear(&row);
        if (rc < 0 || !valid) {
            fail(rq, OSSL_CMP_PKIFAILUREINFO_signerNotTrusted, "the signer's certificate is unknown or expired");
            return;
        }
        if (status != CERTA_CERT_VALID) {
            fail(rq, OSSL_CMP_PKIFAILUREINFO_certRevoked, "the signer's certificate is revoked");
            return;
        }
        rq->auth = CMP_AUTH_CERT;
        snprintf(rq->requester, sizeof(rq->requester), "cert:%s", rq->signer_serial);
    } else if (rq->st->anchors != NULL) {
        X509_STORE_CTX *sc = X509_STORE_CTX_new();
        STACK_OF(X509) *untrusted = sk_X509_new_null();
        for (int i = 1; untrusted && i < sk_X509_num(extra) && i < 8; i++)
            sk_X509_push(untrusted, sk_X509_value(extra, i));
        int ok = sc != NULL && untrusted != NULL && X509_STORE_CTX_init(sc, rq->st->anchors, signer, untrusted) &&
                 X509_verify_cert(sc) == 1;
        X509_STORE_CTX_free(sc);
        sk_X509_free(untrusted);
        if (!ok) {
            fail(rq, OSSL_CMP_PKIFAILUREINFO_signerNotTrusted, "the signer's certificate is not trusted");
            return;
        }
        rq->auth = CMP_AUTH_IDEVID;
        snprintf(rq->requester, sizeof(rq->requester), "idevid:%s", rq->signer_serial);
    } else {
        fail(rq, OSSL_CMP_PKIFAILUREINFO_signerNotTrusted, "the signer's certificate is not from this CA");
        return;
    }
    OSSL_CMP_CTX *c = cmp_plain_ctx();
    int ok = c != NULL && OSSL_CMP_CTX_set1_srvCert(c, signer) && OSSL_CMP_validate_msg(c, msg);
    OSSL_CMP_CTX_free(c);
    ERR_clear_error();
    if (!ok) {
        rq->auth = CMP_AUTH_NONE;
        fail(rq, OSSL_CMP_PKIFAILUREINFO_badMessageCheck, "the signature does not verify");
        return;
    }
    rq->signer = X509_dup(signer);
}

static void check_header(struct cmp_req *rq, const OSSL_CMP_MSG *msg, unsigned char **secret, size_t *secret_len)
{
    OSSL_CMP_PKIHEADER *hdr = OSSL_CMP_MSG_get0_header(msg);
    int type = rq->body_type;
    switch (type) {
    case OSSL_CMP_PKIBODY_IR: case OSSL_CMP_PKIBODY_CR: case OSSL_CMP_PKIBODY_P10CR:
    case OSSL_CMP_PKIBODY_KUR: case OSSL_CMP_PKIBODY_RR: case OSSL_CMP_PKIBODY_GENM:
    case OSSL_CMP_PKIBODY_CERTCONF: case OSSL_CMP_PKIBODY_POLLREQ: case OSSL_CMP_PKIBODY_ERROR:
        break;
    default:
        fail(rq, OSSL_CMP_PKIFAILUREINFO_badRequest, "message type %d is not a request", type);
        return;
    }
    long pvno = cmp_hdr_pvno(msg);
    if (pvno != OSSL_CMP_PVNO) {
        fail(rq, OSSL_CMP_PKIFAILUREINFO_unsupportedVersion, "pvno %ld is not supported", pvno);
        return;
    }
    const ASN1_OCTET_STRING *txid = hdr ? OSSL_CMP_HDR_get0_transactionID(hdr) : NULL;
    if (txid == NULL || ASN1_STRING_length(txid) < 1 || ASN1_STRING_length(txid) > CMP_TXID_MAX) {
        fail(rq, OSSL_CMP_PKIFAILUREINFO_badRequest, "no usable transactionID");
        return;
    }
    cmp_hex(txid, rq->txid, sizeof(rq->txid));
    const ASN1_OCTET_STRING *sn = cmp_hdr_senderNonce(msg);
    if (sn == NULL || ASN1_STRING_length(sn) < CMP_NONCE_MIN || ASN1_STRING_length(sn) > CMP_NONCE_MAX) {
        fail(rq, OSSL_CMP_PKIFAILUREINFO_badSenderNonce, "no usable senderNonce");
        return;
    }
    const ASN1_GENERALIZEDTIME *mt = cmp_hdr_messageTime(msg);
    if (mt != NULL) {
        int days = 0, secs = 0;
        if (!ASN1_TIME_diff(&days, &secs, NULL, mt)) {
            fail(rq, OSSL_CMP_PKIFAILUREINFO_badTime, "messageTime does not decode");
            return;
        }
        int64_t d = (int64_t)days * 86400 + secs;
        if (d > rq->st->max_skew || d < -rq->st->max_skew) {
            fail(rq, OSSL_CMP_PKIFAILUREINFO_badTime, "messageTime is %+lld s from the CA's clock", (long long)d);
            return;
        }
    }
    const X509_ALGOR *alg = cmp_hdr_protectionAlg(msg);
    if (alg == NULL) {
        fail(rq, OSSL_CMP_PKIFAILUREINFO_badMessageCheck, "the message is not protected");
        return;
    }
    const ASN1_OBJECT *aobj = NULL;
    X509_ALGOR_get0(&aobj, NULL, NULL, alg);
    if (OBJ_obj2nid(aobj) == NID_id_PasswordBasedMAC)
        auth_mac(rq, msg, alg, secret, secret_len);
    else
        auth_sig(rq, msg);
}

/* certConf, pollReq and error continue an open transaction, from the same
 * requester, answering our last senderNonce. The entry is taken out of the
 * table; a refused message puts it back untouched. */
static void check_continuation(struct cmp_req *rq, const OSSL_CMP_MSG *msg)
{
    if (is_new_transaction(rq->body_type) || rq->fail_bit >= 0)
        return;
    if (cmp_txn_take(rq->st, rq->txid, &rq->txn) < 0) {
        certa_error_clear();
        if (rq->body_type != OSSL_CMP_PKIBODY_ERROR)
            fail(rq, OSSL_CMP_PKIFAILUREINFO_badRequest, "no open transaction %s", rq->txid);
        return;
    }
    rq->have_txn = 1;
    if (strcmp(rq->txn.requester, rq->requester) != 0) {
        fail(rq, OSSL_CMP_PKIFAILUREINFO_notAuthorized, "the transaction belongs to another requester");
        return;
    }
    const ASN1_OCTET_STRING *rn = OSSL_CMP_HDR_get0_recipNonce(OSSL_CMP_MSG_get0_header(msg));
    if (rn == NULL || (size_t)ASN1_STRING_length(rn) != rq->txn.nonce_len ||
        !certa_memeq_ct(ASN1_STRING_get0_data(rn), rq->txn.nonce, rq->txn.nonce_len))
        fail(rq, OSSL_CMP_PKIFAILUREINFO_badRecipientNonce, "recipNonce is not our last senderNonce");
}

/* Spends the transactionID (new transactions), the senderNonce and a use
 * of a counted MAC secret, in one commit. A request the profile then
 * refuses has used its secret: one attempt per use. */
static void spend_once(struct cmp_req *rq, const OSSL_CMP_MSG *msg)
{
    if (rq->fail_bit >= 0)
        return;
    certa_store *s = certa_ca_store(rq->ca);
    OSSL_CMP_PKIHEADER *hdr = OSSL_CMP_MSG_get0_header(msg);
    const ASN1_OCTET_STRING *txid = OSSL_CMP_HDR_get0_transactionID(hdr), *sn = cmp_hdr_senderNonce(msg);
    int64_t now = (int64_t)time(NULL);
    int rc = certa_store_begin(s);
    if (rc == 0 && is_new_transaction(rq->body_type)) {
        rc = certa_store_nonce_use(s, "cmp-txid", ASN1_STRING_get0_data(txid), (size_t)ASN1_STRING_length(txid), 0);
        if (rc == CERTA_EEXIST) {
            certa_store_rollback(s);
            fail(rq, OSSL_CMP_PKIFAILUREINFO_transactionIdInUse, "transactionID %s was used before", rq->txid);
            return;
        }
    }
    if (rc == 0) {
        rc = certa_store_nonce_use(s, "cmp", ASN1_STRING_get0_data(sn), (size_t)ASN1_STRING_length(sn),
                                   now + 2 * rq->st->max_skew + 3600);
        if (rc == CERTA_EEXIST) {
            certa_store_rollback(s);
            fail(rq, OSSL_CMP_PKIFAILUREINFO_badSenderNonce, "senderNonce was used before (replay)");
            return;
        }
    }
    if (rc == 0 && rq->consume_secret) {
        rc = certa_store_secret_consume(s, CERTA_CMP_SECRET_KIND, rq->mac_ref, now);
        if (rc == CERTA_ESTATE) {
            certa_store_rollback(s);
            fail(rq, OSSL_CMP_PKIFAILUREINFO_notAuthorized, "the reference value is used up or expired");
            return;
        }
    }
    if (rc == 0)
        rc = certa_store_commit(s);
    if (rc < 0) {
        certa_log(CERTA_LOG_ERROR, "cmp: recording nonces: %s", certa_error_last());
        certa_store_rollback(s);
        fail(rq, OSSL_CMP_PKIFAILUREINFO_systemFailure, "the CA cannot record the transaction now");
    }
}

/* ---- running OpenSSL's server -------------------------------------------- */

OSSL_CMP_SRV_CTX *cmp_server_for(struct cmp_req *rq, const unsigned char *secret, size_t secret_len)
{
    OSSL_CMP_SRV_CTX *srv = OSSL_CMP_SRV_CTX_new(NULL, NULL);
    OSSL_CMP_CTX *c = srv ? OSSL_CMP_SRV_CTX_get0_cmp_ctx(srv) : NULL;
    if (c == NULL)
        goto fail;
    OSSL_CMP_CTX_set_log_cb(c, silent_log);
    OSSL_CMP_CTX_set_log_verbosity(c, OSSL_CMP_LOG_WARNING);
    if (cmp_srv_init(srv, rq) < 0 || !OSSL_CMP_CTX_set1_cert(c, certa_ca_cert(rq->ca)) ||
        !OSSL_CMP_CTX_set1_pkey(c, certa_ca_key(rq->ca)) ||
        !OSSL_CMP_CTX_set1_extraCertsOut(c, certa_ca_chain(rq->ca)) ||
        !OSSL_CMP_SRV_CTX_set_grant_implicit_confirm(srv, rq->st->implicit_confirm) ||
        !OSSL_CMP_SRV_CTX_set_send_unprotected_errors(srv, 0))
        goto fail;
    /* Protection was checked before (check_header), and a refusal is
     * answered by the callbacks: OpenSSL must get that far either way.
     * The secret protects the answer (OpenSSL checks the MAC again with it;
     * a signature it does not check twice: no srvCert is set). */
    if (!OSSL_CMP_SRV_CTX_set_accept_unprotected(srv, 1))
        goto fail;
    if (rq->auth == CMP_AUTH_MAC &&
        (!OSSL_CMP_CTX_set1_secretValue(c, secret, (int)secret_len) ||
         !OSSL_CMP_CTX_set1_referenceValue(c, (const unsigned char *)rq->mac_ref, strlen(rq->mac_ref))))
        goto fail;
    return srv;
fail:
    OSSL_CMP_SRV_CTX_free(srv);
    return NULL;
}

/* Keeps what the next message of the transaction needs (taking srv), or
 * ends the transaction. */
static void remember(struct cmp_req *rq, OSSL_CMP_SRV_CTX **srv, const OSSL_CMP_MSG *rsp,
                     const unsigned char *body, size_t body_len)
{
    const ASN1_OCTET_STRING *sn = cmp_hdr_senderNonce(rsp);
    int rtype = OSSL_CMP_MSG_get_bodytype(rsp);
    struct cmp_txn t = { 0 };
    int64_t now = (int64_t)time(NULL);
    if (rq->confirmed || sn == NULL || ASN1_STRING_length(sn) > CMP_NONCE_MAX)
        return;
    snprintf(t.txid, sizeof(t.txid), "%s", rq->txid);
    snprintf(t.requester, sizeof(t.requester), "%s", rq->requester);
    snprintf(t.profile, sizeof(t.profile), "%s", rq->profile ? rq->profile : "");
    memcpy(t.nonce, ASN1_STRING_get0_data(sn), (size_t)ASN1_STRING_length(sn));
    t.nonce_len = (size_t)ASN1_STRING_length(sn);
    t.touched = now;
    int certrep = rtype == OSSL_CMP_PKIBODY_IP || rtype == OSSL_CMP_PKIBODY_CP || rtype == OSSL_CMP_PKIBODY_KUP;
    if (certrep && rq->issued_serial[0]) {
        if (OSSL_CMP_CTX_get_option(OSSL_CMP_SRV_CTX_get0_cmp_ctx(*srv), OSSL_CMP_OPT_IMPLICIT_CONFIRM) == 1)
            return;
        t.state = CMP_TXN_CONFIRM;
        memcpy(t.serial, rq->issued_serial, sizeof(t.serial));
        t.deadline = now + rq->st->confirm_timeout;
    } else if (rq->pending) {
        t.state = CMP_TXN_POLLING;
        if (rq->have_txn) {
            t.orig = rq->txn.orig;
            t.orig_len = rq->txn.orig_len;
            rq->txn.orig = NULL;
        } else if ((t.orig = malloc(body_len)) != NULL) {
            memcpy(t.orig, body, body_len);
            t.orig_len = body_len;
        }
    } else if (rq->have_txn && rtype == OSSL_CMP_PKIBODY_ERROR) {
        /* e.g. a certConf whose hash did not match: still open. */
        t.state = rq->txn.state;
        memcpy(t.serial, rq->txn.serial, sizeof(t.serial));
        t.deadline = rq->txn.deadline;
        t.orig = rq->txn.orig;
        t.orig_len = rq->txn.orig_len;
        rq->txn.orig = NULL;
    } else {
        return;
    }
    t.srv = *srv;
    *srv = NULL;
    if (cmp_txn_put(rq->st, &t) < 0) {
        certa_log(CERTA_LOG_WARN, "cmp: %s", certa_error_last());
        certa_error_clear();
    }
}

static int profile_from_path(const char *path, char *out, size_t len)
{
    static const char prefix[] = "/.well-known/cmp/p/";
    out[0] = 0;
    if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
        return 0;
    const char *p = path + sizeof(prefix) - 1;
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= len)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)p[i]) && p[i] != '-' && p[i] != '_' && p[i] != '.')
            return -1;
    memcpy(out, p, n);
    out[n] = 0;
    return 0;
}

static int cmp_handle(void *state, certa_ca *ca, const struct certa_http_request *req,
                      struct certa_http_response *res)
{
    struct cmp_state *st = state;
    struct cmp_req rq;
    char profile[65];
    OSSL_CMP_MSG *msg = NULL, *rsp = NULL;
    OSSL_CMP_SRV_CTX *srv = NULL;
    unsigned char *secret = NULL, *der = NULL;
    size_t secret_len = 0;
    int rc = 0;
    memset(&rq, 0, sizeof(rq));
    rq.fail_bit = -1;
    if (strcmp(req->method, "POST") != 0) {
        snprintf(res->log_detail, sizeof(res->log_detail), "cmp: method %s", req->method);
        return certa_http_respond_error(res, 405, "CMP messages are POSTed (RFC 6712)");
    }
    if (req->body_len > CMP_BODY_MAX)
        return certa_http_respond_error(res, 413, "CMP message over %d bytes", CMP_BODY_MAX);
    if (profile_from_path(req->path, profile, sizeof(profile)) < 0)
        return certa_http_respond_error(res, 404, "no such CMP profile path");
    const unsigned char *p = req->body;
    if (req->body_len > 0)
        msg = d2i_OSSL_CMP_MSG(NULL, &p, (long)req->body_len);
    if (msg == NULL || p != req->body + req->body_len) {
        ERR_clear_error();
        snprintf(res->log_detail, sizeof(res->log_detail), "cmp failInfo=badDataFormat: not a PKIMessage");
        rc = cmp_answer_garbage(st, ca, res);
        goto out;
    }
    rq.st = st;
    rq.ca = ca;
    rq.profile = profile[0] ? profile : NULL;
    rq.body_type = OSSL_CMP_MSG_get_bodytype(msg);
    if (rq.profile != NULL && certa_ca_profile(ca, rq.profile) == NULL) {
        certa_error_clear();
        fail(&rq, OSSL_CMP_PKIFAILUREINFO_badRequest, "no profile %s", rq.profile);
    }
    check_header(&rq, msg, &secret, &secret_len);
    check_continuation(&rq, msg);
    spend_once(&rq, msg);
    if (rq.have_txn && rq.fail_bit < 0) {
        /* The transaction's own server, pointed at this request. */
        srv = rq.txn.srv;
        rq.txn.srv = NULL;
        if (cmp_srv_init(srv, &rq) < 0) {
            rc = certa_error_ossl(CERTA_ECRYPTO, "cannot set up the CMP server");
            goto out;
        }
    } else if ((srv = cmp_server_for(&rq, secret, secret_len)) == NULL) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot set up the CMP server");
        goto out;
    }
    /* OpenSSL 3.0 answers another pvno with its own generic error: let it
     * see 2 so that the refusal carries unsupportedVersion. */
    if (rq.fail_bit == OSSL_CMP_PKIFAILUREINFO_unsupportedVersion) {
        ASN1_INTEGER *pv = cmp_hdr_field(msg, "pvno");
        if (pv != NULL)
            ASN1_INTEGER_set(pv, OSSL_CMP_PVNO);
    }
    rsp = OSSL_CMP_SRV_process_request(srv, msg);
    ERR_clear_error();
    if (rsp == NULL) {
        rc = certa_http_respond_error(res, 400, "the CMP request cannot be answered");
        snprintf(res->log_detail, sizeof(res->log_detail), "cmp: no answer possible");
        goto out;
    }
    if (rq.fail_bit < 0)
        remember(&rq, &srv, rsp, req->body, req->body_len);
    int len = i2d_OSSL_CMP_MSG(rsp, &der);
    if (len <= 0) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot encode the CMP response");
        goto out;
    }
    rc = certa_http_respond(res, 200, "application/pkixcmp", der, (size_t)len);
    if (rq.fail_bit >= 0) {
        snprintf(res->log_detail, sizeof(res->log_detail), "cmp %s txid=%.16s failInfo=%s: %.100s",
                 body_name(rq.body_type), rq.txid, fail_names[rq.fail_bit], rq.fail_text);
    } else {
        snprintf(res->log_detail, sizeof(res->log_detail), "cmp %s txid=%.16s %.60s %.90s", body_name(rq.body_type),
                 rq.txid, rq.requester, rq.detail[0] ? rq.detail : "answered");
    }
out:
    /* A refused continuation leaves its transaction as it was. */
    if (rq.have_txn && rq.txn.srv != NULL && cmp_txn_put(st, &rq.txn) < 0)
        certa_error_clear();
    OPENSSL_free(der);
    OSSL_CMP_MSG_free(rsp);
    OSSL_CMP_SRV_CTX_free(srv);
    OSSL_CMP_MSG_free(msg);
    X509_free(rq.signer);
    free(rq.subject_pattern);
    cmp_txn_clear(&rq.txn);
    if (secret != NULL) {
        certa_memzero(secret, secret_len);
        free(secret);
    }
    return rc;
}

const struct certa_service certa_service_cmp = {
    .name = "cmp",
    .paths = cmp_paths,
    .start = cmp_start,
    .handle = cmp_handle,
    .tick = cmp_tick,
    .revoked = NULL,
    .stop = cmp_stop,
};
