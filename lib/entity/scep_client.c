/* SCEP enrollment for a trustpoint (RFC 8894): GetCACaps decides method and
 * algorithms, the PKCS#10 goes out as PKCSReq (signed with a transient
 * self-signed certificate) or RenewalReq (signed with the valid certificate
 * this CA issued us), PENDING is polled with CertPoll every retry period up
 * to the retry count, and the issued certificate is installed only after
 * the CertRep, its nonces and the certificate's key all checked out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "certa/key.h"
#include "certa/keystore.h"
#include "certa/log.h"
#include "scep_client.h"

struct session {
    const struct certa_enroll_ctx *ctx;
    STACK_OF(X509) *cas, *ras, *signers;
    X509 *recipient;            /* borrowed from cas or ras */
    struct scep_algs algs;
};

static void session_free(struct session *s)
{
    sk_X509_pop_free(s->cas, X509_free);
    sk_X509_pop_free(s->ras, X509_free);
    sk_X509_free(s->signers);
}

static int can_encipher(X509 *x)
{
    /* No keyUsage extension: every use is allowed. */
    uint32_t ku = X509_get_key_usage(x);
    return EVP_PKEY_get_base_id(X509_get0_pubkey(x)) == EVP_PKEY_RSA &&
           (ku == UINT32_MAX || (ku & KU_KEY_ENCIPHERMENT));
}

/* The authenticated CA and RA certificates, and which one we encrypt to. */
static int load_trust(struct session *s)
{
    const struct certa_enroll_ctx *ctx = s->ctx;
    const char *name = ctx->tp->name;
    int rc;
    if ((rc = certa_trustpoint_read_certs(ctx->state_dir, name, "ca.pem", &s->cas)) < 0 ||
        (rc = certa_trustpoint_read_certs(ctx->state_dir, name, "ra.pem", &s->ras)) < 0)
        return rc;
    if (sk_X509_num(s->cas) == 0)
        return certa_error_set(CERTA_ESTATE, "trustpoint %s has no CA certificate: run `certa ca authenticate %s` "
                               "first", name, name);
    if ((s->signers = sk_X509_new_null()) == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    for (int i = 0; i < sk_X509_num(s->ras); i++)
        if (!sk_X509_push(s->signers, sk_X509_value(s->ras, i)))
            return certa_error_set(CERTA_ENOMEM, "out of memory");
    for (int i = 0; i < sk_X509_num(s->cas); i++)
        if (!sk_X509_push(s->signers, sk_X509_value(s->cas, i)))
            return certa_error_set(CERTA_ENOMEM, "out of memory");
    /* RA certificates come first in signers: the RA is who we talk to. */
    for (int i = 0; i < sk_X509_num(s->signers) && s->recipient == NULL; i++)
        if (can_encipher(sk_X509_value(s->signers, i)))
            s->recipient = sk_X509_value(s->signers, i);
    /* A CA that answers SCEP itself often lacks the keyEncipherment bit
     * (micromdm's does) yet decrypts with its key: with no RA, use it. */
    if (s->recipient == NULL && sk_X509_num(s->ras) == 0 &&
        EVP_PKEY_get_base_id(X509_get0_pubkey(sk_X509_value(s->cas, 0))) == EVP_PKEY_RSA) {
        s->recipient = sk_X509_value(s->cas, 0);
        certa_log(CERTA_LOG_INFO, "trustpoint %s: the CA certificate does not allow keyEncipherment and there is "
                  "no RA certificate; encrypting to the CA certificate", name);
    }
    if (s->recipient == NULL)
        return certa_error_set(CERTA_EPOLICY, "no RA or CA certificate of trustpoint %s is an RSA certificate "
                               "allowing keyEncipherment: there is nothing to encrypt the request to", name);
    return 0;
}

/* The certificate this CA issued us, still valid and for our key, or NULL. */
static X509 *current_cert(struct session *s)
{
    STACK_OF(X509) *mine = NULL;
    X509 *found = NULL;
    if (certa_trustpoint_read_certs(s->ctx->state_dir, s->ctx->tp->name, "cert.pem", &mine) < 0 ||
        sk_X509_num(mine) == 0)
        goto out;
    X509 *c = sk_X509_value(mine, 0);
    if (X509_cmp_current_time(X509_get0_notBefore(c)) > 0 || X509_cmp_current_time(X509_get0_notAfter(c)) <= 0 ||
        EVP_PKEY_eq(X509_get0_pubkey(c), s->ctx->key) != 1)
        goto out;
    for (int i = 0; i < sk_X509_num(s->cas) && found == NULL; i++) {
        X509 *ca = sk_X509_value(s->cas, i);
        if (X509_check_issued(ca, c) == X509_V_OK && X509_verify(c, X509_get0_pubkey(ca)) == 1 && X509_up_ref(c))
            found = c;
    }
out:
    certa_error_clear();
    ERR_clear_error();
    sk_X509_pop_free(mine, X509_free);
    return found;
}

/* One round trip: sign and send, read the CertRep. */
static int exchange(struct session *s, enum scep_msg_type type, const certa_buf *inner, X509 *signer,
                    const char *txid, struct scep_reply *reply)
{
    struct scep_request req = { .type = type, .inner = inner->data, .inner_len = inner->len,
                                .recipient = s->recipient, .signer = signer, .key = s->ctx->key,
                                .algs = &s->algs, .transaction_id = txid };
    certa_buf msg = { 0 }, answer = { 0 };
    int rc;
    if ((rc = certa_scep_new_nonce(req.sender_nonce)) < 0 || (rc = certa_scep_request_encode(&req, &msg)) < 0 ||
        (rc = certa_scep_pki_operation(s->ctx, &s->algs, &msg, &answer)) < 0)
        goto out;
    struct scep_expect exp = { .signers = s->signers, .transaction_id = txid, .sender_nonce = req.sender_nonce,
                               .key = s->ctx->key, .cert = signer, .legacy = s->ctx->tp->legacy };
    rc = certa_scep_reply_decode(answer.data, answer.len, &exp, reply);
out:
    certa_buf_free(&msg);
    certa_buf_free(&answer);
    return rc;
}

static int request_der(X509_REQ *req, certa_buf *out)
{
    unsigned char *der = NULL;
    int n = i2d_X509_REQ(req, &der);
    if (n <= 0)
        return certa_error_ossl(CERTA_ECRYPTO, "cannot encode the request");
    int rc = certa_buf_append(out, der, (size_t)n);
    OPENSSL_free(der);
    return rc;
}

/* The CertRep's certificates are decoded and the CA's are loaded: they are
 * handed over as they are rather than re-read from PEM. */
static int install(struct session *s, STACK_OF(X509) *certs)
{
    const struct certa_enroll_ctx *ctx = s->ctx;
    struct certa_install_known known = { .key = ctx->key, .role = CERTA_KEYROLE_ANY, .cas = s->cas };
    return certa_trustpoint_install(ctx->state_dir, ctx->tp, certs, &known);
}

static long poll_seconds(const struct certa_trustpoint *tp)
{
    /* Not documented: lets tests poll in seconds instead of minutes. */
    const char *env = getenv("CERTA_SCEP_POLL_SECONDS");
    if (env != NULL) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v >= 0 && v <= 3600)
            return v;
    }
    return 60L * tp->retry_period;
}

static void pause_for(long seconds)
{
    struct timespec ts = { .tv_sec = seconds, .tv_nsec = 0 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int write_request_pem(const struct certa_enroll_ctx *ctx, X509_REQ *req)
{
    char path[4096];
    BIO *mem = BIO_new(BIO_s_mem());
    char *data = NULL;
    int rc;
    if (mem == NULL || !PEM_write_bio_X509_REQ(mem, req)) {
        BIO_free(mem);
        return certa_error_ossl(CERTA_ECRYPTO, "cannot encode the request");
    }
    long n = BIO_get_mem_data(mem, &data);
    rc = certa_trustpoint_path(ctx->state_dir, ctx->tp->name, "request.pem", path, sizeof(path));
    if (rc == 0)
        rc = certa_file_write_atomic(path, data, (size_t)n, 0600);
    BIO_free(mem);
    return rc;
}

/* Answers other than PENDING end the transaction. */
static int settle(struct session *s, struct scep_reply *reply)
{
    const struct certa_enroll_ctx *ctx = s->ctx;
    int rc;
    if (reply->status == SCEP_FAILURE) {
        certa_scep_pending_remove(ctx->state_dir, ctx->tp->name);
        return certa_error_set(CERTA_EPOLICY, "the CA rejected the request: FAILURE with failInfo %s (%d)",
                               certa_scep_fail_name(reply->fail_info), reply->fail_info);
    }
    if ((rc = install(s, reply->certs)) < 0)
        return rc;
    return certa_scep_pending_remove(ctx->state_dir, ctx->tp->name);
}

static int poll_loop(struct session *s, struct scep_pending *p, int poll_now)
{
    const struct certa_enroll_ctx *ctx = s->ctx;
    const struct certa_trustpoint *tp = ctx->tp;
    certa_buf ias = { 0 };
    long period = poll_seconds(tp);
    int rc;
    if (EVP_PKEY_eq(X509_REQ_get0_pubkey(p->req), ctx->key) != 1)
        return certa_error_set(CERTA_ESTATE, "the pending request of trustpoint %s is for another key than key "
                               "pair '%s' now holds", tp->name, certa_trustpoint_key_label(tp));
    /* A resumed poll may outlive the transient certificate: same key and
     * name, fresh dates. */
    if (!p->renewal && X509_cmp_current_time(X509_get0_notAfter(p->signer)) <= 0) {
        X509 *fresh = NULL;
        if ((rc = certa_scep_transient_cert(ctx->key, X509_REQ_get_subject_name(p->req), s->algs.md, &fresh)) < 0)
            return rc;
        X509_free(p->signer);
        p->signer = fresh;
    }
    if ((rc = certa_scep_issuer_and_subject(X509_get_subject_name(sk_X509_value(s->cas, 0)),
                                            X509_REQ_get_subject_name(p->req), &ias)) < 0)
        return rc;
    for (int polls = 0; polls < tp->retry_count; polls++) {
        struct scep_reply reply;
        if (!poll_now || polls > 0) {
            certa_log(CERTA_LOG_INFO, "trustpoint %s: request pending at the CA (transaction %s), polling in %ld s "
                      "(%d of %d)", tp->name, p->transaction_id, period, polls + 1, tp->retry_count);
            pause_for(period);
        }
        if ((rc = exchange(s, SCEP_CERTPOLL, &ias, p->signer, p->transaction_id, &reply)) < 0)
            goto out;
        if (reply.status != SCEP_PENDING) {
            rc = settle(s, &reply);
            certa_scep_reply_clear(&reply);
            goto out;
        }
        certa_scep_reply_clear(&reply);
    }
    rc = certa_error_set(CERTA_EPENDING, "the CA still answers PENDING after %d polls %ld s apart (transaction "
                         "%s); `certa enroll %s --resume` continues polling", tp->retry_count, period,
                         p->transaction_id, tp->name);
out:
    certa_buf_free(&ias);
    return rc;
}

static int scep_enroll(const struct certa_enroll_ctx *ctx)
{
    const struct certa_trustpoint *tp = ctx->tp;
    struct session s = { .ctx = ctx };
    struct scep_pending p = { 0 };
    struct scep_reply reply = { 0 };
    certa_buf inner = { 0 };
    unsigned caps = 0;
    char spec[32] = "";
    int rc;
    if (EVP_PKEY_get_base_id(ctx->key) != EVP_PKEY_RSA) {
        certa_key_spec(ctx->key, spec, sizeof(spec));
        return certa_error_set(CERTA_EUNSUPPORTED, "SCEP needs an RSA key pair, since the CA encrypts its answer "
                               "to it; key pair '%s' is %s (use --key-type rsa:2048 and a new --key label)",
                               certa_trustpoint_key_label(tp), spec);
    }
    int pending = certa_scep_pending_load(ctx->state_dir, tp->name, &p);
    if (pending < 0 && (ctx->resume || pending != CERTA_ENOTFOUND)) {
        rc = pending;
        goto out;
    }
    if ((rc = load_trust(&s)) < 0 || (rc = certa_scep_get_caps(ctx, &caps)) < 0 ||
        (rc = certa_scep_algs_choose(caps, tp->legacy, &s.algs)) < 0)
        goto out;
    if (ctx->resume) {
        rc = poll_loop(&s, &p, 1);
        goto out;
    }
    if (pending == 0) {
        rc = certa_error_set(CERTA_ESTATE, "an enrollment of trustpoint %s is already pending at the CA "
                             "(transaction %s): `certa enroll %s --resume` continues it", tp->name,
                             p.transaction_id, tp->name);
        goto out;
    }
    certa_error_clear();

    X509 *current = s.algs.renewal ? current_cert(&s) : NULL;
    p.renewal = current != NULL;
    if (current != NULL)
        p.signer = current;
    else if ((rc = certa_scep_transient_cert(ctx->key, X509_REQ_get_subject_name(ctx->req), s.algs.md,
                                             &p.signer)) < 0)
        goto out;
    if ((p.req = X509_REQ_dup(ctx->req)) == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = certa_scep_new_transaction(p.transaction_id, sizeof(p.transaction_id))) < 0 ||
        (rc = request_der(ctx->req, &inner)) < 0 ||
        (rc = exchange(&s, p.renewal ? SCEP_RENEWALREQ : SCEP_PKCSREQ, &inner, p.signer, p.transaction_id,
                       &reply)) < 0)
        goto out;
    if (reply.status != SCEP_PENDING) {
        rc = settle(&s, &reply);
        goto out;
    }
    /* Saved before the first wait, so an interruption can be resumed. */
    if ((rc = certa_scep_pending_save(ctx->state_dir, tp->name, &p)) < 0 ||
        (rc = write_request_pem(ctx, ctx->req)) < 0)
        goto out;
    rc = poll_loop(&s, &p, 0);
out:
    certa_scep_reply_clear(&reply);
    certa_buf_free(&inner);
    certa_scep_pending_clear(&p);
    session_free(&s);
    return rc;
}

static int scep_fetch_ca(const struct certa_enroll_ctx *ctx, STACK_OF(X509) **certs)
{
    unsigned caps;
    /* GetCACaps first: a URL without SCEP behind it fails here, clearly. */
    int rc = certa_scep_get_caps(ctx, &caps);
    if (rc < 0)
        return rc;
    return certa_scep_get_ca(ctx, certs);
}

const struct certa_enroll_protocol certa_enroll_scep = { "scep", scep_enroll, scep_fetch_ca, NULL };
