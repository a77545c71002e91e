/* SCEP's HTTP binding from the client side: operation=NAME queries on the
 * trustpoint's URL, PKIOperation by POST (application/x-pki-message) or by
 * GET with the base64 message percent-encoded, and every answer checked
 * for what a misconfigured URL gives back: 404, HTML, nothing. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include "scep_client.h"

static int url_for(const struct certa_enroll_ctx *ctx, const char *op, certa_buf *url)
{
    const char *base = ctx->tp->url;
    if (base[0] == '\0')
        return certa_error_set(CERTA_EINVAL, "trustpoint %s has no enrollment URL (set --url)", ctx->tp->name);
    return certa_buf_appendf(url, "%s%soperation=%s", base, strchr(base, '?') ? "&" : "?", op);
}

/* Judges an HTTP answer to op: 0 when it is a 200 with a body that is not
 * an HTML page. */
static int answer_ok(const struct certa_enroll_ctx *ctx, const char *op, const struct certa_http_result *r)
{
    const char *url = ctx->tp->url;
    if (r->status == 404)
        return certa_error_set(CERTA_ENOTFOUND, "no SCEP service at %s: %s answered HTTP 404 Not Found", url, op);
    if (r->status != 200)
        return certa_error_set(CERTA_EPROTO, "the SCEP server at %s answered %s with HTTP %ld", url, op, r->status);
    if (strncasecmp(r->content_type, "text/html", 9) == 0 ||
        (r->body.len >= 5 && (strncasecmp((const char *)r->body.data, "<html", 5) == 0 ||
                              strncasecmp((const char *)r->body.data, "<!doc", 5) == 0)))
        return certa_error_set(CERTA_EPROTO, "the server at %s answered %s with an HTML page, not SCEP "
                               "(is the URL the SCEP service?)", url, op);
    if (r->body.len == 0)
        return certa_error_set(CERTA_EPROTO, "the server at %s sent an empty answer to %s", url, op);
    return 0;
}

static int get(const struct certa_enroll_ctx *ctx, const char *op, const char *extra, struct certa_http_result *r)
{
    certa_buf url = { 0 };
    int rc = url_for(ctx, op, &url);
    if (rc == 0 && extra != NULL)
        rc = certa_buf_appendf(&url, "&%s", extra);
    if (rc == 0)
        rc = certa_http_fetch((const char *)url.data, &ctx->route, NULL, NULL, 0, r);
    if (rc == 0)
        rc = answer_ok(ctx, op, r);
    certa_buf_free(&url);
    return rc;
}

int certa_scep_get_caps(const struct certa_enroll_ctx *ctx, unsigned *caps)
{
    struct certa_http_result r = { 0 };
    int rc = get(ctx, "GetCACaps", NULL, &r);
    if (rc == 0)
        *caps = certa_scep_caps_parse((const char *)r.body.data, r.body.len);
    certa_http_result_clear(&r);
    return rc;
}

int certa_scep_get_ca(const struct certa_enroll_ctx *ctx, STACK_OF(X509) **certs)
{
    struct certa_http_result r = { 0 };
    STACK_OF(X509) *out = sk_X509_new_null();
    PKCS7 *p7 = NULL;
    X509 *x = NULL;
    int rc;
    *certs = NULL;
    if (out == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    if ((rc = get(ctx, "GetCACert", NULL, &r)) < 0)
        goto out;
    if (r.body.len > SCEP_REPLY_MAX) {
        rc = certa_error_set(CERTA_ETOOBIG, "GetCACert answer larger than %d bytes", SCEP_REPLY_MAX);
        goto out;
    }
    /* application/x-x509-ca-cert is one DER certificate,
     * application/x-x509-ca-ra-cert a certs-only PKCS#7; servers mislabel
     * both, so the bytes decide. */
    const unsigned char *p = r.body.data;
    if ((x = d2i_X509(NULL, &p, (long)r.body.len)) != NULL && p == r.body.data + r.body.len) {
        if (!sk_X509_push(out, x)) {
            rc = certa_error_set(CERTA_ENOMEM, "out of memory");
            goto out;
        }
        x = NULL;
    } else {
        p = r.body.data;
        if ((p7 = d2i_PKCS7(NULL, &p, (long)r.body.len)) == NULL || p != r.body.data + r.body.len ||
            !PKCS7_type_is_signed(p7) || p7->d.sign == NULL || sk_X509_num(p7->d.sign->cert) == 0) {
            rc = certa_error_set(CERTA_EPROTO, "GetCACert answer (%s, %zu bytes) is neither a DER certificate "
                                 "nor a certs-only PKCS#7 (malformed or truncated)",
                                 r.content_type[0] ? r.content_type : "no content type", r.body.len);
            goto out;
        }
        for (int i = 0; i < sk_X509_num(p7->d.sign->cert) && i < 16; i++) {
            X509 *c = sk_X509_value(p7->d.sign->cert, i);
            if (!X509_up_ref(c) || !sk_X509_push(out, c)) {
                rc = certa_error_set(CERTA_ENOMEM, "out of memory");
                goto out;
            }
        }
    }
    *certs = out;
    out = NULL;
out:
    ERR_clear_error();
    X509_free(x);
    PKCS7_free(p7);
    sk_X509_pop_free(out, X509_free);
    certa_http_result_clear(&r);
    return rc;
}

int certa_scep_pki_operation(const struct certa_enroll_ctx *ctx, const struct scep_algs *algs,
                             const certa_buf *msg, certa_buf *reply)
{
    struct certa_http_result r = { 0 };
    certa_buf url = { 0 }, b64 = { 0 }, query = { 0 };
    int rc;
    if (algs->post) {
        if ((rc = url_for(ctx, "PKIOperation", &url)) < 0)
            goto out;
        rc = certa_http_fetch((const char *)url.data, &ctx->route, "application/x-pki-message", msg->data, msg->len,
                              &r);
        if (rc == 0)
            rc = answer_ok(ctx, "PKIOperation", &r);
    } else {
        if (msg->len > 64 * 1024) {
            rc = certa_error_set(CERTA_ETOOBIG, "SCEP message too large for a GET");
            goto out;
        }
        if ((rc = certa_buf_reserve(&b64, 4 * ((msg->len + 2) / 3) + 1)) < 0)
            goto out;
        b64.len = (size_t)EVP_EncodeBlock(b64.data, msg->data, (int)msg->len);
        if ((rc = certa_buf_append(&query, "message=", 8)) < 0 ||
            (rc = certa_http_urlencode(b64.data, b64.len, &query)) < 0 || (rc = certa_buf_append(&query, "", 0)) < 0)
            goto out;
        rc = get(ctx, "PKIOperation", (const char *)query.data, &r);
    }
    if (rc < 0)
        goto out;
    if (r.body.len > SCEP_REPLY_MAX) {
        rc = certa_error_set(CERTA_ETOOBIG, "CertRep larger than %d bytes", SCEP_REPLY_MAX);
        goto out;
    }
    rc = certa_buf_append(reply, r.body.data, r.body.len);
out:
    certa_buf_free(&url);
    certa_buf_free(&b64);
    certa_buf_free(&query);
    certa_http_result_clear(&r);
    return rc;
}
