/* Reading a SCEP pkiMessage: the SignedData (scep_asn1.c's templates, which
 * keep certificates as bytes), its one signer and its SCEP attributes. Only
 * the signer's certificate is read, as far as its issuer, serial and
 * SubjectPublicKeyInfo; its key then comes from certa_key_from_spki, and
 * the whole certificate is decoded only when a renewal needs it
 * (scep_msg_signer_cert). */
#include <stdlib.h>
#include <string.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include "certa/key.h"
#include "scep_internal.h"

/* Any ContentInfo: to tell "not SignedData" from "not PKCS#7". */
typedef struct {
    ASN1_OBJECT *type;
    ASN1_TYPE *d;
} SCEP_ANY_CONTENT_INFO;

ASN1_SEQUENCE(SCEP_ANY_CONTENT_INFO) = {
    ASN1_SIMPLE(SCEP_ANY_CONTENT_INFO, type, ASN1_OBJECT),
    ASN1_EXP_OPT(SCEP_ANY_CONTENT_INFO, d, ASN1_ANY, 0),
} static_ASN1_SEQUENCE_END(SCEP_ANY_CONTENT_INFO)

/* The parts of a Certificate (RFC 5280) that find and key the signer. */
typedef struct {
    ASN1_INTEGER *version;
    ASN1_INTEGER *serial;
    ASN1_TYPE *sig_alg;
    X509_NAME *issuer;
    ASN1_TYPE *validity, *subject, *spki;
    ASN1_BIT_STRING *issuer_uid, *subject_uid;
    ASN1_TYPE *extensions;
} SCEP_TBS;

ASN1_SEQUENCE(SCEP_TBS) = {
    ASN1_EXP_OPT(SCEP_TBS, version, ASN1_INTEGER, 0),
    ASN1_SIMPLE(SCEP_TBS, serial, ASN1_INTEGER),
    ASN1_SIMPLE(SCEP_TBS, sig_alg, ASN1_ANY),
    ASN1_SIMPLE(SCEP_TBS, issuer, X509_NAME),
    ASN1_SIMPLE(SCEP_TBS, validity, ASN1_ANY),
    ASN1_SIMPLE(SCEP_TBS, subject, ASN1_ANY),
    ASN1_SIMPLE(SCEP_TBS, spki, ASN1_ANY),
    ASN1_IMP_OPT(SCEP_TBS, issuer_uid, ASN1_BIT_STRING, 1),
    ASN1_IMP_OPT(SCEP_TBS, subject_uid, ASN1_BIT_STRING, 2),
    ASN1_EXP_OPT(SCEP_TBS, extensions, ASN1_ANY, 3),
} static_ASN1_SEQUENCE_END(SCEP_TBS)

typedef struct {
    SCEP_TBS *tbs;
    ASN1_TYPE *sig_alg;
    ASN1_BIT_STRING *signature;
} SCEP_CERT;

ASN1_SEQUENCE(SCEP_CERT) = {
    ASN1_SIMPLE(SCEP_CERT, tbs, SCEP_TBS),
    ASN1_SIMPLE(SCEP_CERT, sig_alg, ASN1_ANY),
    ASN1_SIMPLE(SCEP_CERT, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(SCEP_CERT)

void scep_msg_clear(struct scep_msg *m)
{
    if (m == NULL)
        return;
    ASN1_item_free(m->asn1, ASN1_ITEM_rptr(SCEP_CONTENT_INFO));
    ASN1_item_free(m->signer_view, ASN1_ITEM_rptr(SCEP_CERT));
    EVP_PKEY_free(m->signer_key);
    X509_free(m->signer_cert);
    OPENSSL_clear_free(m->inner, m->inner_len);
    memset(m, 0, sizeof(*m));
}

/* A string-valued attribute (PrintableString as RFC 8894 says; IA5 and
 * UTF8 from lenient clients) into out; 0 when absent or unusable. */
static int attr_string(PKCS7_SIGNER_INFO *si, int nid, char *out, size_t out_len)
{
    ASN1_TYPE *t = PKCS7_get_signed_attribute(si, nid);
    if (t == NULL)
        return 0;
    if (t->type != V_ASN1_PRINTABLESTRING && t->type != V_ASN1_IA5STRING && t->type != V_ASN1_UTF8STRING)
        return 0;
    const ASN1_STRING *s = t->value.asn1_string;
    int n = ASN1_STRING_length(s);
    const unsigned char *d = ASN1_STRING_get0_data(s);
    if (n <= 0 || (size_t)n >= out_len)
        return 0;
    for (int i = 0; i < n; i++)
        if (d[i] < 0x20 || d[i] > 0x7e)
            return 0;
    memcpy(out, d, (size_t)n);
    out[n] = '\0';
    return 1;
}

/* A certificate as bytes: the DER of a SEQUENCE (ANY keeps it whole). */
static int cert_bytes(const ASN1_TYPE *t, const unsigned char **der, size_t *len)
{
    if (t == NULL || t->type != V_ASN1_SEQUENCE || t->value.sequence == NULL)
        return 0;
    *der = ASN1_STRING_get0_data(t->value.sequence);
    *len = (size_t)ASN1_STRING_length(t->value.sequence);
    return *len > 0;
}

/* The certificate the signer names by issuer and serial (as
 * X509_find_by_issuer_and_serial compares them), and its key. Leaves the
 * key NULL when there is none or it is unreadable: scep_msg_verify then
 * answers badMessageCheck. */
static void find_signer(struct scep_msg *m, const SCEP_SIGNED *sd)
{
    const PKCS7_ISSUER_AND_SERIAL *ias = m->si->issuer_and_serial;
    for (int i = 0; ias != NULL && i < sk_ASN1_TYPE_num(sd->certs); i++) {
        const unsigned char *der, *p, *spki;
        size_t len, spki_len;
        if (!cert_bytes(sk_ASN1_TYPE_value(sd->certs, i), &der, &len))
            continue;
        p = der;
        SCEP_CERT *c = (SCEP_CERT *)ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(SCEP_CERT));
        if (c == NULL || p != der + len || X509_NAME_cmp(c->tbs->issuer, ias->issuer) != 0 ||
            ASN1_INTEGER_cmp(c->tbs->serial, ias->serial) != 0 || !cert_bytes(c->tbs->spki, &spki, &spki_len)) {
            ASN1_item_free((ASN1_VALUE *)c, ASN1_ITEM_rptr(SCEP_CERT));
            continue;
        }
        m->signer_view = c;
        m->signer_der = der;
        m->signer_len = len;
        m->signer_spki = spki;
        m->signer_spki_len = spki_len;
        if (certa_key_from_spki(m->signer_spki, m->signer_spki_len, &m->signer_key) < 0)
            m->signer_key = NULL;
        return;
    }
}

/* Why der is no SignedData: another ContentInfo, or no PKCS#7 at all. */
static int not_signed_data(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    ASN1_VALUE *ci = ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(SCEP_ANY_CONTENT_INFO));
    int other = ci != NULL && p == der + len &&
                OBJ_obj2nid(((SCEP_ANY_CONTENT_INFO *)ci)->type) != NID_pkcs7_signed;
    ASN1_item_free(ci, ASN1_ITEM_rptr(SCEP_ANY_CONTENT_INFO));
    ERR_clear_error();
    return certa_error_set(CERTA_EPROTO, other ? "not a PKCS#7 SignedData"
                                               : "not a PKCS#7 message (garbage or truncated)");
}

int scep_msg_parse(const unsigned char *der, size_t len, struct scep_msg *m)
{
    const struct scep_nids *n = scep_nids();
    memset(m, 0, sizeof(*m));
    m->msg_type = -1;
    if (len == 0 || len > SCEP_MSG_MAX)
        return certa_error_set(CERTA_EPROTO, "message empty or over %d bytes", SCEP_MSG_MAX);
    const unsigned char *p = der;
    SCEP_CONTENT_INFO *ci = (SCEP_CONTENT_INFO *)ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(SCEP_CONTENT_INFO));
    m->asn1 = ci;
    if (ci == NULL || p != der + len || OBJ_obj2nid(ci->type) != NID_pkcs7_signed)
        return not_signed_data(der, len);
    SCEP_SIGNED *sd = ci->d;
    if (sk_PKCS7_SIGNER_INFO_num(sd->signer_info) != 1)
        return certa_error_set(CERTA_EPROTO, "SignedData without exactly one signer");
    m->si = sk_PKCS7_SIGNER_INFO_value(sd->signer_info, 0);
    m->econtent_type = sd->contents->type;
    if (sd->contents->content != NULL) {
        m->econtent = ASN1_STRING_get0_data(sd->contents->content);
        m->econtent_len = (size_t)ASN1_STRING_length(sd->contents->content);
    }
    find_signer(m, sd);
    if (!attr_string(m->si, n->transaction_id, m->txid, sizeof(m->txid)))
        return certa_error_set(CERTA_EPROTO, "no usable transactionID");
    ASN1_TYPE *t = PKCS7_get_signed_attribute(m->si, n->sender_nonce);
    if (t == NULL || t->type != V_ASN1_OCTET_STRING || ASN1_STRING_length(t->value.octet_string) <= 0 ||
        ASN1_STRING_length(t->value.octet_string) > SCEP_NONCE_MAX)
        return certa_error_set(CERTA_EPROTO, "no usable senderNonce");
    m->nonce_len = (size_t)ASN1_STRING_length(t->value.octet_string);
    memcpy(m->nonce, ASN1_STRING_get0_data(t->value.octet_string), m->nonce_len);
    char type[8];
    if (attr_string(m->si, n->message_type, type, sizeof(type))) {
        char *end;
        long v = strtol(type, &end, 10);
        if (*end == '\0' && end != type && v >= 0 && v < 100)
            m->msg_type = (int)v;
    }
    /* The signer's digest must be one the SignedData announces, as
     * OpenSSL's PKCS7_verify requires. */
    m->md_nid = m->si->digest_alg ? OBJ_obj2nid(m->si->digest_alg->algorithm) : NID_undef;
    for (int i = 0; i < sk_X509_ALGOR_num(sd->md_algs) && !m->md_announced; i++)
        m->md_announced = OBJ_obj2nid(sk_X509_ALGOR_value(sd->md_algs, i)->algorithm) == m->md_nid;
    return 0;
}

X509 *scep_msg_signer_cert(struct scep_msg *m)
{
    if (m->signer_cert == NULL && m->signer_der != NULL) {
        const unsigned char *p = m->signer_der;
        m->signer_cert = d2i_X509(NULL, &p, (long)m->signer_len);
        if (m->signer_cert != NULL && p != m->signer_der + m->signer_len) {
            X509_free(m->signer_cert);
            m->signer_cert = NULL;
        }
        ERR_clear_error();
    }
    return m->signer_cert;
}
