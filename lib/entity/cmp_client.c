/* The device's CMP client (RFC 4210/9483) on OpenSSL's OSSL_CMP_CTX: ir for
 * the first certificate, kur while a valid one exists, cr or p10cr when
 * asked; genm for the CA certificates; rr. Messages travel over the
 * device's HTTP client (certa_http_fetch), so the trustpoint's source
 * address, interface, VRF, namespace and proxy apply. Requests are
 * protected with the trustpoint's reference value and secret (PBM), or
 * with an identity certificate and key (signature). The root CA update
 * (genm id-it-rootCaCert) fetches the CA's rollover root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/cmp.h>
#include <openssl/pem.h>
#include "certa/keystore.h"
#include "certa/log.h"
#include "enroll.h"
#include "proto/cmp_internal.h"

#define CMP_RESPONSE_MAX (256 * 1024)

struct cmp_client {
    const struct certa_enroll_ctx *ectx;
    OSSL_CMP_CTX *c;
    char *secret;
    X509 *cert;          /* current certificate of the trustpoint, if valid */
    char err[256];       /* transport failure, kept past OpenSSL's error queue */
    int err_code;
};

static OSSL_CMP_MSG *http_transfer(OSSL_CMP_CTX *c, const OSSL_CMP_MSG *req)
{
    struct cmp_client *cl = OSSL_CMP_CTX_get_transfer_cb_arg(c);
    struct certa_http_route route = cl->ectx->route;
    struct certa_http_result res = { 0 };
    unsigned char *der = NULL;
    OSSL_CMP_MSG *rsp = NULL;
    int len = i2d_OSSL_CMP_MSG(req, &der);
    if (len <= 0)
        return NULL;
    if (route.max_response == 0)
        route.max_response = CMP_RESPONSE_MAX;
    int rc = certa_http_fetch(cl->ectx->tp->url, &route, "application/pkixcmp", der, (size_t)len, &res);
    OPENSSL_free(der);
    if (rc < 0) {
        cl->err_code = rc;
        snprintf(cl->err, sizeof(cl->err), "%s", certa_error_last());
        goto out;
    }
    if (res.status != 200) {
        cl->err_code = CERTA_EPROTO;
        snprintf(cl->err, sizeof(cl->err), "the CA answered HTTP %ld", res.status);
        goto out;
    }
    const unsigned char *p = res.body.data;
    rsp = d2i_OSSL_CMP_MSG(NULL, &p, (long)res.body.len);
    if (rsp == NULL) {
        cl->err_code = CERTA_EPROTO;
        snprintf(cl->err, sizeof(cl->err), "the CA's answer is not a CMP message");
    }
out:
    certa_http_result_clear(&res);
    return rsp;
}

static int log_cb(const char *func, const char *file, int line, OSSL_CMP_severity level, const char *msg)
{
    (void)func, (void)file, (void)line;
    certa_log(level <= OSSL_CMP_LOG_WARNING ? CERTA_LOG_INFO : CERTA_LOG_DEBUG, "cmp client: %s", msg);
    return 1;
}

/* The error for a failed exchange: the transport's, or the CA's status. */
static int client_error(struct cmp_client *cl, const char *what)
{
    if (cl->err_code < 0)
        return certa_error_set(cl->err_code, "CMP %s: %s", what, cl->err);
    int status = OSSL_CMP_CTX_get_status(cl->c);
    char buf[OSSL_CMP_PKISI_BUFLEN];
    unsigned long e = ERR_peek_last_error();
    if (status == OSSL_CMP_PKISTATUS_rejection) {
        const char *txt = OSSL_CMP_CTX_snprint_PKIStatus(cl->c, buf, sizeof(buf));
        ERR_clear_error();
        return certa_error_set(CERTA_EPOLICY, "CMP %s refused by the CA: %s", what, txt ? txt : "rejection");
    }
    if (status == OSSL_CMP_PKISTATUS_waiting)
        return certa_error_set(CERTA_EPENDING, "CMP %s: still waiting for the CA after the trustpoint's "
                               "retry count", what);
    char reason[200];
    ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    return certa_error_set(CERTA_EPROTO, "CMP %s failed: %s", what, e ? reason : "no valid answer");
}

static int read_cert(const char *path, X509 **out)
{
    certa_buf b = { 0 };
    int rc = certa_file_read(path, 64 * 1024, &b);
    if (rc < 0)
        return rc;
    BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);
    *out = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    certa_buf_free(&b);
    return *out ? 0 : certa_error_ossl(CERTA_EINVAL, "%s: no PEM certificate", path);
}

/* The trustpoint's certificate if it is within its validity. */
static X509 *current_cert(const struct certa_enroll_ctx *e)
{
    STACK_OF(X509) *certs = NULL;
    X509 *x = NULL;
    if (certa_trustpoint_read_certs(e->state_dir, e->tp->name, "cert.pem", &certs) == 0 && sk_X509_num(certs) > 0) {
        X509 *c = sk_X509_value(certs, 0);
        if (X509_cmp_time(X509_get0_notAfter(c), NULL) > 0 && X509_cmp_time(X509_get0_notBefore(c), NULL) < 0) {
            x = c;
            X509_up_ref(x);
        }
    }
    sk_X509_pop_free(certs, X509_free);
    certa_error_clear();
    return x;
}

static int setup(struct cmp_client *cl, const struct certa_enroll_ctx *e, int want_sig_with_current)
{
    const struct certa_trustpoint *tp = e->tp;
    STACK_OF(X509) *ca = NULL;
    int rc = 0;
    memset(cl, 0, sizeof(*cl));
    cl->ectx = e;
    if ((cl->c = OSSL_CMP_CTX_new(NULL, NULL)) == NULL)
        return certa_error_ossl(CERTA_ENOMEM, "out of memory");
    OSSL_CMP_CTX_set_log_cb(cl->c, log_cb);
    OSSL_CMP_CTX_set_log_verbosity(cl->c, OSSL_CMP_LOG_INFO);
    if (!OSSL_CMP_CTX_set_transfer_cb(cl->c, http_transfer) || !OSSL_CMP_CTX_set_transfer_cb_arg(cl->c, cl))
        return certa_error_ossl(CERTA_ENOMEM, "out of memory");
    /* The CA as authenticated (ca.pem): it signs the answers. */
    if ((rc = certa_trustpoint_read_certs(e->state_dir, tp->name, "ca.pem", &ca)) < 0)
        return rc;
    if (sk_X509_num(ca) > 0) {
        X509_STORE *st = X509_STORE_new();
        if (st == NULL || !X509_STORE_add_cert(st, sk_X509_value(ca, 0))) {
            X509_STORE_free(st);
            sk_X509_pop_free(ca, X509_free);
            return certa_error_ossl(CERTA_ENOMEM, "out of memory");
        }
        OSSL_CMP_CTX_set0_trustedStore(cl->c, st);
        OSSL_CMP_CTX_set1_recipient(cl->c, X509_get_subject_name(sk_X509_value(ca, 0)));
    }
    sk_X509_pop_free(ca, X509_free);
    /* Protection: the current certificate where the operation calls for
     * it (kur, rr), else the configured identity certificate, else MAC. */
    if (want_sig_with_current && (cl->cert = current_cert(e)) != NULL && e->key != NULL) {
        if (!OSSL_CMP_CTX_set1_cert(cl->c, cl->cert) || !OSSL_CMP_CTX_set1_pkey(cl->c, e->key))
            return certa_error_ossl(CERTA_ECRYPTO, "cannot use the trustpoint's certificate");
        return 0;
    }
    if (tp->cmp_cert[0]) {
        X509 *x = NULL;
        EVP_PKEY *k = NULL;
        if (!tp->cmp_key[0])
            return certa_error_set(CERTA_EINVAL, "trustpoint %s: --cmp-cert needs --cmp-key LABEL", tp->name);
        if ((rc = read_cert(tp->cmp_cert, &x)) < 0)
            return rc;
        if ((rc = certa_keystore_load(e->state_dir, tp->cmp_key, CERTA_KEYROLE_ANY, &k)) < 0) {
            X509_free(x);
            return rc;
        }
        int ok = X509_check_private_key(x, k) && OSSL_CMP_CTX_set1_cert(cl->c, x) && OSSL_CMP_CTX_set1_pkey(cl->c, k);
        X509_free(x);
        EVP_PKEY_free(k);
        if (!ok)
            return certa_error_ossl(CERTA_EINVAL, "trustpoint %s: --cmp-cert does not match key %s", tp->name,
                                    tp->cmp_key);
        return 0;
    }
    if ((rc = certa_trustpoint_secret_get(e->state_dir, tp->name, "cmp_secret", &cl->secret)) < 0)
        return rc;
    if (cl->secret == NULL || !tp->cmp_ref[0])
        return certa_error_set(CERTA_EINVAL, "trustpoint %s has no CMP protection: set --cmp-ref and "
                               "--cmp-secret, or --cmp-cert and --cmp-key", tp->name);
    if (!OSSL_CMP_CTX_set1_referenceValue(cl->c, (const unsigned char *)tp->cmp_ref, strlen(tp->cmp_ref)) ||
        !OSSL_CMP_CTX_set1_secretValue(cl->c, (const unsigned char *)cl->secret, (int)strlen(cl->secret)))
        return certa_error_ossl(CERTA_ENOMEM, "out of memory");
    return 0;
}

static void cleanup(struct cmp_client *cl)
{
    OSSL_CMP_CTX_free(cl->c);
    X509_free(cl->cert);
    if (cl->secret != NULL) {
        certa_memzero(cl->secret, strlen(cl->secret));
        free(cl->secret);
    }
}

static int append_pem(BIO *b, X509 *x)
{
    return PEM_write_bio_X509(b, x) ? 0 : -1;
}

/* Installs the new certificate and what came with it. A MAC-protected ip
 * is the only way a fresh device learns its CA: caPubs becomes ca.pem
 * (checked against the trustpoint's fingerprint when one is set). */
static int install(const struct certa_enroll_ctx *e, OSSL_CMP_CTX *c, X509 *newcert, int mac)
{
    STACK_OF(X509) *chain = OSSL_CMP_CTX_get1_newChain(c), *capubs = OSSL_CMP_CTX_get1_caPubs(c);
    STACK_OF(X509) *have = NULL;
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    int rc = certa_trustpoint_read_certs(e->state_dir, e->tp->name, "ca.pem", &have);
    if (rc < 0 || b == NULL)
        goto out;
    if (sk_X509_num(have) == 0 && mac && sk_X509_num(capubs) > 0) {
        BIO *cb = BIO_new(BIO_s_mem());
        if (cb == NULL || append_pem(cb, sk_X509_value(capubs, 0)) < 0) {
            BIO_free(cb);
            rc = certa_error_ossl(CERTA_ENOMEM, "out of memory");
            goto out;
        }
        long n = BIO_get_mem_data(cb, &data);
        rc = certa_trustpoint_import(e->state_dir, e->tp->name, (unsigned char *)data, (size_t)n, 1);
        BIO_free(cb);
        if (rc < 0)
            goto out;
    }
    if (append_pem(b, newcert) < 0) {
        rc = certa_error_ossl(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    /* The chain as the CA sent it, without the certificate itself. */
    for (int i = 0; i < sk_X509_num(chain); i++)
        if (X509_cmp(sk_X509_value(chain, i), newcert) != 0 && append_pem(b, sk_X509_value(chain, i)) < 0) {
            rc = certa_error_ossl(CERTA_ENOMEM, "out of memory");
            goto out;
        }
    long n = BIO_get_mem_data(b, &data);
    rc = certa_trustpoint_import(e->state_dir, e->tp->name, (unsigned char *)data, (size_t)n, 0);
out:
    BIO_free(b);
    sk_X509_pop_free(chain, X509_free);
    sk_X509_pop_free(capubs, X509_free);
    sk_X509_pop_free(have, X509_free);
    return rc;
}

static int cmp_enroll(const struct certa_enroll_ctx *e)
{
    struct cmp_client cl;
    X509_EXTENSIONS *exts = NULL;
    int p10 = (e->flags & CERTA_ENROLL_CMP_P10CR) != 0, cr = (e->flags & CERTA_ENROLL_CMP_CR) != 0;
    const char *what;
    int rc;
    memset(&cl, 0, sizeof(cl));
    if (e->resume) {
        /* A CMP transaction lives in the client that started it. */
        rc = certa_error_set(CERTA_EUNSUPPORTED, "a CMP enrollment cannot be resumed: enroll again");
        goto out;
    }
    /* A valid certificate protects whatever comes next (kur, cr, p10cr). */
    if ((rc = setup(&cl, e, 1)) < 0)
        goto out;
    int type;
    if (p10) {
        type = OSSL_CMP_P10CR, what = "p10cr";
    } else if (cr) {
        type = OSSL_CMP_CR, what = "cr";
    } else if (cl.cert != NULL) {
        type = OSSL_CMP_KUR, what = "kur";
    } else {
        type = OSSL_CMP_IR, what = "ir";
    }
    if (p10) {
        if (!OSSL_CMP_CTX_set1_p10CSR(cl.c, e->req)) {
            rc = certa_error_ossl(CERTA_ENOMEM, "out of memory");
            goto out;
        }
    } else {
        EVP_PKEY_up_ref(e->key);
        if (!OSSL_CMP_CTX_set0_newPkey(cl.c, 1, e->key) ||
            !OSSL_CMP_CTX_set1_subjectName(cl.c, X509_REQ_get_subject_name(e->req))) {
            rc = certa_error_ossl(CERTA_ENOMEM, "out of memory");
            goto out;
        }
        if ((exts = X509_REQ_get_extensions(e->req)) != NULL && sk_X509_EXTENSION_num(exts) > 0) {
            if (!OSSL_CMP_CTX_set0_reqExtensions(cl.c, exts)) {
                rc = certa_error_ossl(CERTA_ENOMEM, "out of memory");
                goto out;
            }
            exts = NULL;
        }
        if (type == OSSL_CMP_KUR && !OSSL_CMP_CTX_set1_oldCert(cl.c, cl.cert)) {
            rc = certa_error_ossl(CERTA_ENOMEM, "out of memory");
            goto out;
        }
    }
    /* One round trip when the CA grants it; certConf otherwise. */
    OSSL_CMP_CTX_set_option(cl.c, OSSL_CMP_OPT_IMPLICIT_CONFIRM, 1);
    /* Poll at the trustpoint's pace, at most retry_count times. */
    int period = e->tp->retry_period > 0 ? e->tp->retry_period * 60 : 60;
    int count = e->tp->retry_count > 0 ? e->tp->retry_count : 10;
    X509 *newcert = NULL;
    for (int attempt = 0;; attempt++) {
        int check_after = 0;
        int r = OSSL_CMP_try_certreq(cl.c, type, NULL, &check_after);
        if (r == 1) {
            newcert = OSSL_CMP_CTX_get0_newCert(cl.c);
            break;
        }
        if (r != -1 || attempt >= count) {
            rc = client_error(&cl, what);
            goto out;
        }
        int wait = check_after > 0 && check_after < period ? check_after : period;
        certa_log(CERTA_LOG_INFO, "cmp: %s pending, polling again in %d s (%d of %d)", what, wait, attempt + 1,
                  count);
        sleep((unsigned)wait);
    }
    if (newcert == NULL) {
        rc = client_error(&cl, what);
        goto out;
    }
    rc = install(e, cl.c, newcert, cl.cert == NULL && !e->tp->cmp_cert[0]);
out:
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    cleanup(&cl);
    return rc;
}

/* One genm with query q (owned, NULL when it could not be made): *items
 * gets the genp's, whose protection is checked as for every answer. */
static int genm(struct cmp_client *cl, OSSL_CMP_ITAV *q, STACK_OF(OSSL_CMP_ITAV) **items)
{
    if (q == NULL || !OSSL_CMP_CTX_push0_genm_ITAV(cl->c, q)) {
        OSSL_CMP_ITAV_free(q);
        return certa_error_ossl(CERTA_ENOMEM, "out of memory");
    }
    if ((*items = OSSL_CMP_exec_GENM_ses(cl->c)) == NULL)
        return client_error(cl, "genm");
    return 0;
}

static int cmp_fetch_ca(const struct certa_enroll_ctx *e, STACK_OF(X509) **certs)
{
    struct cmp_client cl;
    STACK_OF(OSSL_CMP_ITAV) *items = NULL;
    *certs = NULL;
    int rc = setup(&cl, e, 0);
    if (rc < 0)
        goto out;
    if ((rc = genm(&cl, OSSL_CMP_ITAV_create(OBJ_nid2obj(NID_id_it_caCerts), NULL), &items)) < 0)
        goto out;
    for (int i = 0; i < sk_OSSL_CMP_ITAV_num(items) && *certs == NULL; i++) {
        const OSSL_CMP_ITAV *a = sk_OSSL_CMP_ITAV_value(items, i);
        if (OBJ_obj2nid(OSSL_CMP_ITAV_get0_type(a)) == NID_id_it_caCerts)
            *certs = cmp_certs_decode(OSSL_CMP_ITAV_get0_value(a));
    }
    if (*certs == NULL || sk_X509_num(*certs) == 0) {
        sk_X509_pop_free(*certs, X509_free);
        *certs = NULL;
        rc = certa_error_set(CERTA_EPROTO, "the CA's genp has no CA certificates");
    }
out:
    sk_OSSL_CMP_ITAV_pop_free(items, OSSL_CMP_ITAV_free);
    cleanup(&cl);
    return rc;
}

int certa_enroll_cmp_root_update(const struct certa_enroll_ctx *e, X509 **new_with_new, X509 **new_with_old)
{
    struct cmp_client cl;
    STACK_OF(OSSL_CMP_ITAV) *items = NULL;
    STACK_OF(X509) *ca = NULL;
    X509 *nwn = NULL, *nwo = NULL, *own = NULL;
    ASN1_TYPE *val = NULL;
    *new_with_new = *new_with_old = NULL;
    memset(&cl, 0, sizeof(cl));
    int rc = certa_trustpoint_read_certs(e->state_dir, e->tp->name, "ca.pem", &ca);
    if (rc == 0 && sk_X509_num(ca) == 0)
        rc = certa_error_set(CERTA_ESTATE, "trustpoint %s has no CA certificate: run `certa ca authenticate "
                             "%s` first", e->tp->name, e->tp->name);
    /* Signed with the trustpoint's valid certificate when it has one. */
    if (rc < 0 || (rc = setup(&cl, e, e->key != NULL)) < 0)
        goto out;
    X509 *cur = sk_X509_value(ca, 0);
    /* genm id-it-rootCaCert with the root the device trusts (RFC 9483
     * 4.3.2); OpenSSL 3.0 has no name for it. */
    ASN1_OBJECT *type = OBJ_txt2obj(CMP_OID_ROOTCA_CERT, 1);
    ASN1_STRING *der = ASN1_item_pack(cur, ASN1_ITEM_rptr(X509), NULL);
    if (type == NULL || der == NULL || (val = ASN1_TYPE_new()) == NULL) {
        ASN1_OBJECT_free(type);
        ASN1_STRING_free(der);
        rc = certa_error_ossl(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    ASN1_TYPE_set(val, V_ASN1_SEQUENCE, der);
    OSSL_CMP_ITAV *q = OSSL_CMP_ITAV_create(type, val);
    if (q == NULL) {
        ASN1_OBJECT_free(type);
        rc = certa_error_ossl(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    val = NULL;
    if ((rc = genm(&cl, q, &items)) < 0)
        goto out;
    const OSSL_CMP_ITAV *a = NULL;
    for (int i = 0; i < sk_OSSL_CMP_ITAV_num(items) && a == NULL; i++)
        if (cmp_oid_is(OSSL_CMP_ITAV_get0_type(sk_OSSL_CMP_ITAV_value(items, i)), CMP_OID_ROOTCA_KEY_UPDATE))
            a = sk_OSSL_CMP_ITAV_value(items, i);
    if (a == NULL) {
        rc = certa_error_set(CERTA_EPROTO, "the CA's genp does not answer the root CA update");
        goto out;
    }
    const ASN1_TYPE *v = OSSL_CMP_ITAV_get0_value(a);
    if (v == NULL || v->type == V_ASN1_NULL)
        goto out; /* no update available */
    if (cmp_rootca_decode(v, &nwn, &nwo, &own) < 0) {
        ERR_clear_error();
        rc = certa_error_set(CERTA_EPROTO, "the CA's RootCaKeyUpdateContent does not decode");
        goto out;
    }
    if ((rc = cmp_rootca_check(cur, nwn, nwo, own)) < 0)
        goto out;
    *new_with_new = nwn;
    *new_with_old = nwo;
    nwn = nwo = NULL;
out:
    X509_free(nwn);
    X509_free(nwo);
    X509_free(own);
    ASN1_TYPE_free(val);
    sk_X509_pop_free(ca, X509_free);
    sk_OSSL_CMP_ITAV_pop_free(items, OSSL_CMP_ITAV_free);
    cleanup(&cl);
    return rc;
}

static int cmp_revoke(const struct certa_enroll_ctx *e, int reason)
{
    struct cmp_client cl;
    int rc = setup(&cl, e, 1);
    if (rc < 0)
        goto out;
    if (cl.cert == NULL) {
        rc = certa_error_set(CERTA_ENOTFOUND, "trustpoint %s has no valid certificate to revoke", e->tp->name);
        goto out;
    }
    if (!OSSL_CMP_CTX_set1_oldCert(cl.c, cl.cert) ||
        !OSSL_CMP_CTX_set_option(cl.c, OSSL_CMP_OPT_REVOCATION_REASON, reason)) {
        rc = certa_error_ossl(CERTA_EINVAL, "cannot prepare the revocation request");
        goto out;
    }
    if (OSSL_CMP_exec_RR_ses(cl.c) != 1)
        rc = client_error(&cl, "rr");
out:
    cleanup(&cl);
    return rc;
}

const struct certa_enroll_protocol certa_enroll_cmp = {
    .name = "cmp",
    .enroll = cmp_enroll,
    .fetch_ca = cmp_fetch_ca,
    .revoke = cmp_revoke,
};
