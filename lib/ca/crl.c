/* CRL building that streams from the store. Each entry's DER was encoded
 * once at revocation time; here they are concatenated while the query steps,
 * and OpenSSL encodes everything else, so a million entries cost the output
 * buffer and nothing more (X509_CRL with a million X509_REVOKED objects
 * would cost ten times that, which is where `openssl ca -gencrl` spends its
 * time and memory). */
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/x509v3.h>
#include "ca/crl.h"

/* The issuer's key identifier: its subjectKeyIdentifier, or the RFC 5280
 * method 1 SHA-1 of the public key when the certificate has none. */
static int add_aki(X509_CRL *crl, X509 *issuer)
{
    int ok = 0;
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(issuer);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (akid == NULL)
        goto out;
    if (skid != NULL) {
        akid->keyid = ASN1_OCTET_STRING_dup(skid);
    } else if (X509_pubkey_digest(issuer, EVP_sha1(), md, &mdlen)) {
        akid->keyid = ASN1_OCTET_STRING_new();
        if (akid->keyid != NULL && !ASN1_OCTET_STRING_set(akid->keyid, md, (int)mdlen))
            goto out;
    }
    ok = akid->keyid != NULL && X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier,
                                                      akid, 0, 0) == 1;
out:
    AUTHORITY_KEYID_free(akid);
    return ok;
}

static int add_idp(X509_CRL *crl, const char *url)
{
    int ok = 0;
    ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    if (idp == NULL || gn == NULL || ia5 == NULL || !ASN1_STRING_set(ia5, url, -1))
        goto out;
    GENERAL_NAME_set0_value(gn, GEN_URI, ia5);
    ia5 = NULL;
    if ((idp->distpoint = DIST_POINT_NAME_new()) == NULL ||
        (idp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL ||
        !sk_GENERAL_NAME_push(idp->distpoint->name.fullname, gn))
        goto out;
    gn = NULL;
    idp->distpoint->type = 0;
    /* RFC 5280 5.2.5: the IDP is a critical extension. */
    ok = X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1, 0) == 1;
out:
    ISSUING_DIST_POINT_free(idp);
    GENERAL_NAME_free(gn);
    ASN1_IA5STRING_free(ia5);
    return ok;
}

static int add_int_ext(X509_CRL *crl, int nid, int64_t v, int crit)
{
    ASN1_INTEGER *ai = ASN1_INTEGER_new();
    int ok = ai != NULL && ASN1_INTEGER_set_int64(ai, v) &&
             X509_CRL_add1_ext_i2d(crl, nid, ai, crit, 0) == 1;
    ASN1_INTEGER_free(ai);
    return ok;
}

/* The CRL with every field but its entries, signed so that OpenSSL fills
 * both AlgorithmIdentifiers exactly as it would for a normal CRL. */
static int crl_template(const struct certa_crl_params *p, X509_CRL **out)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)p->this_update);
    ASN1_TIME *t2 = ASN1_TIME_set(NULL, (time_t)p->next_update);
    int rc = CERTA_ECRYPTO;
    if (crl == NULL || t1 == NULL || t2 == NULL || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
        !X509_CRL_set_issuer_name(crl, X509_get_subject_name(p->issuer)) ||
        !X509_CRL_set1_lastUpdate(crl, t1) || !X509_CRL_set1_nextUpdate(crl, t2) ||
        !add_aki(crl, p->issuer) || !add_int_ext(crl, NID_crl_number, p->number, 0) ||
        (p->delta_base >= 0 && !add_int_ext(crl, NID_delta_crl, p->delta_base, 1)) ||
        (p->idp_url != NULL && *p->idp_url && !add_idp(crl, p->idp_url))) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "building the CRL fields");
        goto out;
    }
    if (X509_CRL_sign(crl, p->key, p->md) <= 0) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "signing the CRL with the CA key");
        goto out;
    }
    *out = crl;
    crl = NULL;
    rc = 0;
out:
    X509_CRL_free(crl);
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    return rc;
}

/* Splits the DER of an entry-less TBSCertList into the content before the
 * place of revokedCertificates (version .. nextUpdate) and the content after
 * it (crlExtensions). The walk uses OpenSSL's ASN1_get_object to step over
 * each top-level element; nothing here decodes DER by hand. An empty
 * revokedCertificates SEQUENCE, should OpenSSL emit one, is dropped. */
static int tbs_split(const unsigned char *tbs, long tbs_len, size_t *pre_off, size_t *pre_len,
                     size_t *suf_off, size_t *suf_len)
{
    const unsigned char *p = tbs, *end;
    long len;
    int tag, cls, seen_time = 0;
    if ((ASN1_get_object(&p, &len, &tag, &cls, tbs_len) & 0x80) || tag != V_ASN1_SEQUENCE)
        return certa_error_set(CERTA_ECRYPTO, "unexpected TBSCertList encoding");
    end = p + len;
    *pre_off = (size_t)(p - tbs);
    while (p < end) {
        const unsigned char *elem = p;
        if (ASN1_get_object(&p, &len, &tag, &cls, end - p) & 0x80)
            return certa_error_set(CERTA_ECRYPTO, "unexpected TBSCertList encoding");
        p += len;
        int is_ext = (cls == V_ASN1_CONTEXT_SPECIFIC);
        int is_empty_list = seen_time && cls == V_ASN1_UNIVERSAL && tag == V_ASN1_SEQUENCE;
        if (is_ext || is_empty_list) {
            *pre_len = (size_t)(elem - tbs) - *pre_off;
            *suf_off = (size_t)((is_ext ? elem : p) - tbs);
            *suf_len = (size_t)(end - tbs) - *suf_off;
            return 0;
        }
        if (cls == V_ASN1_UNIVERSAL && (tag == V_ASN1_UTCTIME || tag == V_ASN1_GENERALIZEDTIME))
            seen_time = 1;
    }
    *pre_len = (size_t)(end - tbs) - *pre_off;
    *suf_off = (size_t)(end - tbs);
    *suf_len = 0;
    return 0;
}

/* Header room reserved in front of the entries: the CertificateList and
 * TBSCertList SEQUENCE headers and the revokedCertificates one, each at most
 * 6 octets (tag, 0x84, four length octets) for outputs under 4 GiB. */
#define HDR_MAX 6
#define CRL_MAX_BYTES ((size_t)0xffffffffu - 4096)

struct stream_ctx {
    certa_buf *out;
    size_t count;
};

static int append_entry(const struct certa_revoked_row *row, void *arg)
{
    struct stream_ctx *c = arg;
    c->count++;
    if (c->out->len > CRL_MAX_BYTES)
        return certa_error_set(CERTA_ETOOBIG, "the CRL would exceed 4 GiB");
    if (row->entry_der != NULL && row->entry_len > 0 && row->reason != CERTA_REASON_REMOVE_FROM_CRL)
        return certa_buf_append(c->out, row->entry_der, row->entry_len);
    /* Released holds (delta only) and rows recorded without an entry. */
    return certa_crl_entry_encode(row->serial, row->revoked_at, row->reason,
                                  row->invalidity_date, c->out);
}

int certa_crl_build(certa_store *s, const struct certa_crl_params *p, int64_t since_seq,
                    certa_buf *der, int64_t *max_seq)
{
    X509_CRL *crl = NULL;
    unsigned char *tbs = NULL, *alg_der = NULL, *bits_der = NULL, *sig = NULL;
    const X509_ALGOR *alg = NULL;
    ASN1_BIT_STRING *bits = NULL;
    EVP_MD_CTX *mctx = NULL;
    size_t pre_off = 0, pre_len = 0, suf_off = 0, suf_len = 0, siglen = 0;
    int rc, tbs_len, alg_len, bits_len;

    if (der->len != 0)
        return certa_error_set(CERTA_EINVAL, "CRL output buffer must be empty");
    if ((rc = crl_template(p, &crl)) != 0)
        goto out;
    tbs_len = i2d_re_X509_CRL_tbs(crl, &tbs);
    X509_CRL_get0_signature(crl, NULL, &alg);
    alg_len = i2d_X509_ALGOR(alg, &alg_der);
    if (tbs_len <= 0 || alg_len <= 0) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "encoding the CRL fields");
        goto out;
    }
    if ((rc = tbs_split(tbs, tbs_len, &pre_off, &pre_len, &suf_off, &suf_len)) != 0)
        goto out;

    /* Stream the entries behind room for the headers and the fixed fields. */
    size_t room = 3 * HDR_MAX + pre_len;
    if ((rc = certa_buf_reserve(der, room + 64 * 1024)) != 0)
        goto out;
    memset(der->data, 0, room);
    der->len = room;
    struct stream_ctx sc = { der, 0 };
    if ((rc = certa_store_revoked_each(s, since_seq, append_entry, &sc, max_seq)) != 0)
        goto out;
    size_t entries = der->len - room;

    /* Lay the headers down backwards in front of the entries. */
    int ent_hdr = entries ? ASN1_object_size(1, (int)entries, V_ASN1_SEQUENCE) - (int)entries : 0;
    size_t tbs_content = pre_len + (size_t)ent_hdr + entries + suf_len;
    int tbs_total = ASN1_object_size(1, (int)tbs_content, V_ASN1_SEQUENCE);
    if (ent_hdr < 0 || tbs_total < 0) {
        rc = certa_error_set(CERTA_ETOOBIG, "the CRL is too large to encode");
        goto out;
    }
    size_t tbs_start = room - (size_t)ent_hdr - pre_len - ((size_t)tbs_total - tbs_content);
    unsigned char *w = der->data + tbs_start;
    ASN1_put_object(&w, 1, (int)tbs_content, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    memcpy(w, tbs + pre_off, pre_len);
    w += pre_len;
    if (entries)
        ASN1_put_object(&w, 1, (int)entries, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    if ((rc = certa_buf_append(der, tbs + suf_off, suf_len)) != 0)
        goto out;

    /* Sign the TBS bytes where they lie. */
    if ((mctx = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestSignInit(mctx, NULL, p->md, NULL, p->key) != 1 ||
        EVP_DigestSign(mctx, NULL, &siglen, der->data + tbs_start, (size_t)tbs_total) != 1 ||
        (sig = OPENSSL_malloc(siglen)) == NULL ||
        EVP_DigestSign(mctx, sig, &siglen, der->data + tbs_start, (size_t)tbs_total) != 1) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "signing the CRL");
        goto out;
    }
    /* All signature bits count: keep trailing zero octets (X509 signing does the same). */
    if ((bits = ASN1_BIT_STRING_new()) == NULL || !ASN1_BIT_STRING_set(bits, sig, (int)siglen)) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "encoding the CRL signature");
        goto out;
    }
    bits->flags &= ~0x07;
    bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    if ((bits_len = i2d_ASN1_BIT_STRING(bits, &bits_der)) <= 0) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "encoding the CRL signature");
        goto out;
    }
    if ((rc = certa_buf_append(der, alg_der, (size_t)alg_len)) != 0 ||
        (rc = certa_buf_append(der, bits_der, (size_t)bits_len)) != 0)
        goto out;
    size_t outer_content = (size_t)tbs_total + (size_t)alg_len + (size_t)bits_len;
    int outer_total = ASN1_object_size(1, (int)outer_content, V_ASN1_SEQUENCE);
    if (outer_total < 0 || (size_t)outer_total - outer_content > tbs_start) {
        rc = certa_error_set(CERTA_ETOOBIG, "the CRL is too large to encode");
        goto out;
    }
    size_t start = tbs_start - ((size_t)outer_total - outer_content);
    w = der->data + start;
    ASN1_put_object(&w, 1, (int)outer_content, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    memmove(der->data, der->data + start, (size_t)outer_total);
    der->len = (size_t)outer_total;
    rc = 0;
out:
    if (rc != 0)
        der->len = 0;
    X509_CRL_free(crl);
    OPENSSL_free(tbs);
    OPENSSL_free(alg_der);
    OPENSSL_free(bits_der);
    OPENSSL_free(sig);
    ASN1_BIT_STRING_free(bits);
    EVP_MD_CTX_free(mctx);
    return rc;
}
