/* The normalized request in and out of the store: a PENDING request is kept
 * as JSON (jansson) with its DER parts in base64 (OpenSSL's encoder), so
 * certa_ca_approve can issue it later exactly as it was asked. Also fills a
 * request from a PKCS#10 CSR for the CLI and the protocols. */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/evp.h>
#include "certa/csr.h"
#include "ca_internal.h"

#define REQUEST_BODY_MAX (256 * 1024)

static int put_b64(json_t *o, const char *k, const unsigned char *der, int len)
{
    if (der == NULL || len <= 0)
        return json_object_set_new(o, k, json_null());
    size_t cap = 4 * (((size_t)len + 2) / 3) + 1;
    char *b = malloc(cap);
    if (b == NULL)
        return -1;
    EVP_EncodeBlock((unsigned char *)b, der, len);
    int rc = json_object_set_new(o, k, json_string(b));
    free(b);
    return rc;
}

static int put_str(json_t *o, const char *k, const char *v)
{
    return json_object_set_new(o, k, v ? json_string(v) : json_null());
}

int certa_request_serialize(const struct certa_request *req, certa_buf *out)
{
    unsigned char *subj = NULL, *sans = NULL, *spki = NULL, *exts = NULL;
    int ls = i2d_X509_NAME(req->subject, &subj);
    int ln = req->sans ? i2d_GENERAL_NAMES(req->sans, &sans) : 0;
    /* The decoded SubjectPublicKeyInfo re-encodes from its cached bytes;
     * i2d_PUBKEY would run OpenSSL's encoder machinery on every request. */
    int lk = req->spki ? i2d_X509_PUBKEY(req->spki, &spki) : i2d_PUBKEY(req->pubkey, &spki);
    int le = req->extensions ? i2d_X509_EXTENSIONS((X509_EXTENSIONS *)req->extensions, &exts) : 0;
    int rc = CERTA_ENOMEM;
    json_t *o = json_object();
    char *text = NULL;
    if (ls <= 0 || ln < 0 || lk <= 0 || le < 0) {
        rc = certa_error_ossl(CERTA_EINVAL, "encoding the request");
        goto out;
    }
    if (o == NULL || json_object_set_new(o, "v", json_integer(1)) ||
        put_b64(o, "subject", subj, ls) || put_b64(o, "sans", sans, ln) ||
        put_b64(o, "spki", spki, lk) || put_b64(o, "extensions", exts, le) ||
        json_object_set_new(o, "not_after", json_integer(req->not_after)) ||
        put_str(o, "profile", req->profile) || put_str(o, "protocol", req->protocol) ||
        put_str(o, "requester", req->requester) || put_str(o, "transaction_id", req->transaction_id) ||
        put_str(o, "renewal_of", req->renewal_of))
        goto out;
    if ((text = json_dumps(o, JSON_COMPACT)) == NULL)
        goto out;
    out->len = 0;
    rc = certa_buf_append(out, text, strlen(text));
out:
    if (rc == CERTA_ENOMEM)
        certa_error_set(rc, "out of memory serializing the request");
    free(text);
    json_decref(o);
    OPENSSL_free(subj);
    OPENSSL_free(sans);
    OPENSSL_free(spki);
    OPENSSL_free(exts);
    return rc;
}

/* Decodes base64 member k into a malloc'd buffer; *len 0 and NULL for null. */
static int get_b64(json_t *o, const char *k, unsigned char **der, int *len)
{
    *der = NULL;
    *len = 0;
    json_t *v = json_object_get(o, k);
    if (v == NULL || json_is_null(v))
        return 0;
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n % 4 != 0 || n > REQUEST_BODY_MAX)
        return -1;
    *der = malloc(n / 4 * 3);
    if (*der == NULL)
        return -1;
    int l = EVP_DecodeBlock(*der, (const unsigned char *)s, (int)n);
    if (l < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    l -= (s[n - 1] == '=') + (s[n - 2] == '=');
    *len = l;
    return 0;
}

static int get_str(json_t *o, const char *k, char **out)
{
    json_t *v = json_object_get(o, k);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    return (*out = strdup(json_string_value(v))) ? 0 : -1;
}

int certa_request_deserialize(const unsigned char *body, size_t len, struct certa_stored_request *r)
{
    memset(r, 0, sizeof(*r));
    if (len == 0 || len > REQUEST_BODY_MAX)
        return certa_error_set(CERTA_EINVAL, "stored request body is empty or too large");
    json_error_t jerr;
    json_t *o = json_loadb((const char *)body, len, 0, &jerr);
    unsigned char *subj = NULL, *sans = NULL, *spki = NULL, *exts = NULL;
    int ls, ln, lk, le, rc = CERTA_EINVAL;
    if (o == NULL || !json_is_object(o) || json_integer_value(json_object_get(o, "v")) != 1)
        goto out;
    if (get_b64(o, "subject", &subj, &ls) || get_b64(o, "sans", &sans, &ln) ||
        get_b64(o, "spki", &spki, &lk) || get_b64(o, "extensions", &exts, &le))
        goto out;
    const unsigned char *p;
    if (subj == NULL || spki == NULL)
        goto out;
    p = subj;
    if ((r->req.subject = d2i_X509_NAME(NULL, &p, ls)) == NULL)
        goto out;
    p = spki;
    if ((r->req.pubkey = d2i_PUBKEY(NULL, &p, lk)) == NULL)
        goto out;
    p = sans;
    if (sans && (r->req.sans = d2i_GENERAL_NAMES(NULL, &p, ln)) == NULL)
        goto out;
    p = exts;
    if (exts && (r->exts = d2i_X509_EXTENSIONS(NULL, &p, le)) == NULL)
        goto out;
    r->req.extensions = r->exts;
    r->req.not_after = json_integer_value(json_object_get(o, "not_after"));
    if (get_str(o, "profile", &r->profile) || get_str(o, "protocol", &r->protocol) ||
        get_str(o, "requester", &r->requester) || get_str(o, "transaction_id", &r->transaction_id) ||
        get_str(o, "renewal_of", &r->renewal_of))
        goto out;
    r->req.profile = r->profile;
    r->req.protocol = r->protocol;
    r->req.requester = r->requester;
    r->req.transaction_id = r->transaction_id;
    r->req.renewal_of = r->renewal_of;
    rc = 0;
out:
    if (rc < 0) {
        certa_stored_request_clear(r);
        certa_error_set(rc, "stored request is corrupt");
    }
    json_decref(o);
    free(subj);
    free(sans);
    free(spki);
    free(exts);
    return rc;
}

void certa_stored_request_clear(struct certa_stored_request *r)
{
    X509_NAME_free(r->req.subject);
    GENERAL_NAMES_free(r->req.sans);
    EVP_PKEY_free(r->req.pubkey);
    sk_X509_EXTENSION_pop_free(r->exts, X509_EXTENSION_free);
    free(r->profile);
    free(r->protocol);
    free(r->requester);
    free(r->transaction_id);
    free(r->renewal_of);
    memset(r, 0, sizeof(*r));
}

/* Fills out from a CSR's parts; takes ownership of exts. */
static int request_from_parts(X509_NAME *subject, EVP_PKEY *pubkey, const X509_PUBKEY *spki,
                              STACK_OF(X509_EXTENSION) *exts, struct certa_csr_request *out)
{
    memset(out, 0, sizeof(*out));
    out->req.subject = subject;
    out->req.pubkey = pubkey;
    out->req.spki = spki;
    out->exts = exts;
    if (out->req.pubkey == NULL) {
        certa_csr_request_clear(out);
        return certa_error_ossl(CERTA_EINVAL, "the CSR's public key cannot be decoded");
    }
    if (out->exts != NULL) {
        int crit = 0;
        out->sans = X509V3_get_d2i(out->exts, NID_subject_alt_name, &crit, NULL);
        if (out->sans == NULL && X509v3_get_ext_by_NID(out->exts, NID_subject_alt_name, -1) >= 0) {
            certa_csr_request_clear(out);
            return certa_error_ossl(CERTA_EINVAL, "the CSR's subjectAltName extension is malformed");
        }
    }
    out->req.sans = out->sans;
    out->req.extensions = out->exts;
    return 0;
}

int certa_request_from_csr(X509_REQ *csr, struct certa_csr_request *out)
{
    EVP_PKEY *pk = X509_REQ_get0_pubkey(csr);
    return request_from_parts(X509_REQ_get_subject_name(csr), pk, X509_REQ_get_X509_PUBKEY(csr),
                              pk ? X509_REQ_get_extensions(csr) : NULL, out);
}

int certa_request_from_csr_view(const struct certa_csr_view *v, struct certa_csr_request *out)
{
    return request_from_parts(v->subject, v->pubkey, v->spki, v->pubkey ? certa_csr_view_extensions(v) : NULL,
                              out);
}

void certa_csr_request_clear(struct certa_csr_request *r)
{
    sk_X509_EXTENSION_pop_free(r->exts, X509_EXTENSION_free);
    GENERAL_NAMES_free(r->sans);
    memset(r, 0, sizeof(*r));
}
