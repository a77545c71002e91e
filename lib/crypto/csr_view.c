/* PKCS#10 requests parsed for a protocol that already holds a decoded public
 * key which is usually the request's own (SCEP: the signer certificate's).
 * OpenSSL 3.0 decodes every SubjectPublicKeyInfo it parses through a fresh
 * OSSL_DECODER context, the costliest step of a request after the private-
 * key operations; here the request is read with an ASN.1 template whose
 * SubjectPublicKeyInfo stays algorithm + bits, and when those encode to the
 * known key's bytes that key is used (and the X509_PUBKEY for the
 * certificate is assembled from the parts), else they are decoded once as
 * usual. The self-signature is checked over the request's original bytes
 * either way. */
#include <string.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "certa/csr.h"
#include "csr_internal.h"
#include "crypto/spki_parts.h"

#define CSR_MAX (64 * 1024)     /* as certa_csr_parse */

/* CertificationRequestInfo; the encoding is kept (ASN1_SEQUENCE_enc) so that
 * the signature is checked over the bytes as received, as X509_REQ does. */
typedef struct {
    ASN1_ENCODING enc;
    ASN1_INTEGER *version;
    X509_NAME *subject;
    CERTA_SPKI_PARTS *spki;
    STACK_OF(X509_ATTRIBUTE) *attributes;
} CERTA_CSR_INFO;

ASN1_SEQUENCE_enc(CERTA_CSR_INFO, enc, NULL) = {
    ASN1_SIMPLE(CERTA_CSR_INFO, version, ASN1_INTEGER),
    ASN1_SIMPLE(CERTA_CSR_INFO, subject, X509_NAME),
    ASN1_SIMPLE(CERTA_CSR_INFO, spki, CERTA_SPKI_PARTS),
    /* [0] attributes: required by RFC 2986, absent from some old requests */
    ASN1_IMP_SET_OF_OPT(CERTA_CSR_INFO, attributes, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END_ref(CERTA_CSR_INFO, CERTA_CSR_INFO)

typedef struct {
    CERTA_CSR_INFO *info;
    X509_ALGOR *sig_alg;
    ASN1_BIT_STRING *signature;
} CERTA_CSR;

ASN1_SEQUENCE(CERTA_CSR) = {
    ASN1_SIMPLE(CERTA_CSR, info, CERTA_CSR_INFO),
    ASN1_SIMPLE(CERTA_CSR, sig_alg, X509_ALGOR),
    ASN1_SIMPLE(CERTA_CSR, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CERTA_CSR)

void certa_csr_view_clear(struct certa_csr_view *v)
{
    if (v == NULL)
        return;
    ASN1_item_free(v->asn1, ASN1_ITEM_rptr(CERTA_CSR));
    X509_PUBKEY_free(v->own_spki);
    memset(v, 0, sizeof(*v));
}

/* The PEM form's DER ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST"). */
static int pem_to_der(const unsigned char *data, size_t len, unsigned char **der, long *der_len)
{
    BIO *mem = BIO_new_mem_buf(data, (int)len);
    char *name = NULL;
    int ok = mem != NULL && PEM_bytes_read_bio(der, der_len, &name, PEM_STRING_X509_REQ, mem, NULL, NULL);
    OPENSSL_free(name);
    BIO_free(mem);
    return ok;
}

int certa_csr_view_parse(const unsigned char *data, size_t len, const unsigned char *known_spki,
                         size_t known_spki_len, EVP_PKEY *known_key, struct certa_csr_view *out)
{
    unsigned char *pem_der = NULL, *spki_der = NULL;
    long pem_len = 0;
    int rc = 0;
    memset(out, 0, sizeof(*out));
    if (data == NULL || len == 0)
        return certa_error_set(CERTA_EINVAL, "empty certificate request");
    if (len > CSR_MAX)
        return certa_error_set(CERTA_ETOOBIG, "certificate request larger than %d bytes", CSR_MAX);
    if (len > 10 && memcmp(data, "-----BEGIN", 10) == 0) {
        if (!pem_to_der(data, len, &pem_der, &pem_len))
            goto malformed;
        data = pem_der;
        len = (size_t)pem_len;
    }
    const unsigned char *p = data;
    CERTA_CSR *csr = (CERTA_CSR *)ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(CERTA_CSR));
    out->asn1 = csr;
    if (csr == NULL || p != data + len)
        goto malformed;
    int slen = ASN1_item_i2d((ASN1_VALUE *)csr->info->spki, &spki_der, ASN1_ITEM_rptr(CERTA_SPKI_PARTS));
    if (slen <= 0)
        goto malformed;
    if (known_key != NULL && (size_t)slen == known_spki_len && memcmp(spki_der, known_spki, known_spki_len) == 0) {
        CERTA_SPKI_PARTS *parts = csr->info->spki;
        if ((out->own_spki = X509_PUBKEY_new()) == NULL ||
            !certa_spki_set_parts(out->own_spki, parts->algor, ASN1_STRING_get0_data(parts->bits),
                                  ASN1_STRING_length(parts->bits))) {
            rc = certa_error_ossl(CERTA_ENOMEM, "out of memory");
            goto out;
        }
        out->pubkey = known_key;
        out->known_key = 1;
    } else {
        /* Another key (a renewal signed with the current certificate, a
         * client that signs with a key of its own): decoded here, once. */
        const unsigned char *q = spki_der;
        out->own_spki = d2i_X509_PUBKEY(NULL, &q, slen);
        if (out->own_spki == NULL || q != spki_der + slen ||
            (out->pubkey = X509_PUBKEY_get0(out->own_spki)) == NULL) {
            rc = certa_error_ossl(CERTA_EINVAL, "certificate request has an unreadable public key");
            goto out;
        }
    }
    out->spki = out->own_spki;
    out->subject = csr->info->subject;
    out->attrs = csr->info->attributes;
    if (ASN1_item_verify(ASN1_ITEM_rptr(CERTA_CSR_INFO), csr->sig_alg, csr->signature, csr->info, out->pubkey) != 1) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "certificate request signature does not verify");
        goto out;
    }
    goto out;
malformed:
    ERR_clear_error();
    rc = certa_error_set(CERTA_EINVAL, "malformed or truncated certificate request (PKCS#10 PEM or DER expected)");
out:
    if (rc < 0)
        certa_csr_view_clear(out);
    OPENSSL_free(spki_der);
    OPENSSL_free(pem_der);
    return rc;
}

char *certa_csr_view_challenge(const struct certa_csr_view *v)
{
    int idx = X509at_get_attr_by_NID(v->attrs, NID_pkcs9_challengePassword, -1);
    return idx < 0 ? NULL : certa_csr_challenge_attr(X509at_get_attr(v->attrs, idx));
}

/* As X509_REQ_get_extensions: the first non-empty extensionRequest (or
 * Microsoft's msExtReq); NULL when there is none or it does not decode. */
STACK_OF(X509_EXTENSION) *certa_csr_view_extensions(const struct certa_csr_view *v)
{
    static const int nids[] = { NID_ext_req, NID_ms_ext_req };
    for (size_t i = 0; i < sizeof(nids) / sizeof(nids[0]); i++) {
        int idx = X509at_get_attr_by_NID(v->attrs, nids[i], -1);
        if (idx < 0)
            continue;
        ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(X509at_get_attr(v->attrs, idx), 0);
        if (t == NULL || t->type != V_ASN1_SEQUENCE)
            return NULL;
        const unsigned char *p = t->value.sequence->data;
        STACK_OF(X509_EXTENSION) *exts = (STACK_OF(X509_EXTENSION) *)ASN1_item_d2i(
            NULL, &p, t->value.sequence->length, ASN1_ITEM_rptr(X509_EXTENSIONS));
        if (exts == NULL) {
            ERR_clear_error();
            return NULL;
        }
        if (sk_X509_EXTENSION_num(exts) > 0)
            return exts;
        sk_X509_EXTENSION_free(exts);
    }
    return NULL;
}
