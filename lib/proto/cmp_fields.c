/* Read access to CMP/CRMF fields that OpenSSL 3.0 decodes but has no getter
 * for (senderKID, senderNonce, messageTime, pvno, protectionAlg, extraCerts,
 * the template's publicKey and validity; later releases add most of them).
 * Nothing is parsed here: the fields are located through OpenSSL's own
 * ASN.1 item tables (field name -> offset) in the structures it decoded. */
#include <string.h>
#include <openssl/asn1t.h>
#include "proto/cmp_internal.h"

/* The field called name of a value of item it: its address (the pointer to
 * the field's value, or the embedded value itself), and its item. */
static void *field(const ASN1_ITEM *it, const void *val, const char *name, const ASN1_ITEM **fit,
                   int *embed)
{
    if (it == NULL || val == NULL)
        return NULL;
    if (it->itype != ASN1_ITYPE_SEQUENCE && it->itype != ASN1_ITYPE_NDEF_SEQUENCE &&
        it->itype != ASN1_ITYPE_CHOICE)
        return NULL;
    for (long i = 0; i < it->tcount; i++) {
        const ASN1_TEMPLATE *tt = &it->templates[i];
        if (tt->field_name == NULL || strcmp(tt->field_name, name) != 0)
            continue;
        if (it->itype == ASN1_ITYPE_CHOICE) {
            const int *sel = (const int *)((const char *)val + it->utype);
            if (*sel != i)
                return NULL;
        }
        if (fit != NULL)
            *fit = tt->flags & ASN1_TFLG_SK_MASK ? NULL : ASN1_ITEM_ptr(tt->item);
        if (embed != NULL)
            *embed = (tt->flags & ASN1_TFLG_EMBED) != 0;
        return (char *)val + tt->offset;
    }
    return NULL;
}

/* The value (pointer) of a non-embedded field. */
static void *field_value(const ASN1_ITEM *it, const void *val, const char *name, const ASN1_ITEM **fit)
{
    int embed = 0;
    void *p = field(it, val, name, fit, &embed);
    if (p == NULL)
        return NULL;
    return embed ? p : *(void **)p;
}

static const void *header(const OSSL_CMP_MSG *msg, const ASN1_ITEM **hit)
{
    return field_value(ASN1_ITEM_rptr(OSSL_CMP_MSG), msg, "header", hit);
}

void *cmp_hdr_field(const OSSL_CMP_MSG *msg, const char *name)
{
    const ASN1_ITEM *hit = NULL;
    const void *h = header(msg, &hit);
    return h ? field_value(hit, h, name, NULL) : NULL;
}

const ASN1_OCTET_STRING *cmp_hdr_senderKID(const OSSL_CMP_MSG *msg)
{
    return cmp_hdr_field(msg, "senderKID");
}

const ASN1_OCTET_STRING *cmp_hdr_senderNonce(const OSSL_CMP_MSG *msg)
{
    return cmp_hdr_field(msg, "senderNonce");
}

const ASN1_GENERALIZEDTIME *cmp_hdr_messageTime(const OSSL_CMP_MSG *msg)
{
    return cmp_hdr_field(msg, "messageTime");
}

const X509_ALGOR *cmp_hdr_protectionAlg(const OSSL_CMP_MSG *msg)
{
    return cmp_hdr_field(msg, "protectionAlg");
}

long cmp_hdr_pvno(const OSSL_CMP_MSG *msg)
{
    const ASN1_INTEGER *v = cmp_hdr_field(msg, "pvno");
    return v ? ASN1_INTEGER_get(v) : -1;
}

const STACK_OF(X509) *cmp_msg_extraCerts(const OSSL_CMP_MSG *msg)
{
    return field_value(ASN1_ITEM_rptr(OSSL_CMP_MSG), msg, "extraCerts", NULL);
}

X509_PUBKEY *cmp_tmpl_publicKey(const OSSL_CRMF_CERTTEMPLATE *t)
{
    return field_value(ASN1_ITEM_rptr(OSSL_CRMF_CERTTEMPLATE), t, "publicKey", NULL);
}

const ASN1_TIME *cmp_tmpl_notAfter(const OSSL_CRMF_CERTTEMPLATE *t)
{
    const ASN1_ITEM *vit = NULL;
    const void *v = field_value(ASN1_ITEM_rptr(OSSL_CRMF_CERTTEMPLATE), t, "validity", &vit);
    return v ? field_value(vit, v, "notAfter", NULL) : NULL;
}

int cmp_pbm_params(const OSSL_CRMF_PBMPARAMETER *p, size_t *salt_len, long *iterations)
{
    const ASN1_ITEM *it = ASN1_ITEM_rptr(OSSL_CRMF_PBMPARAMETER);
    const ASN1_OCTET_STRING *salt = field_value(it, p, "salt", NULL);
    const ASN1_INTEGER *iter = field_value(it, p, "iterationCount", NULL);
    if (salt == NULL || iter == NULL)
        return -1;
    *salt_len = (size_t)ASN1_STRING_length(salt);
    *iterations = ASN1_INTEGER_get(iter);
    return 0;
}

/* body (CHOICE) -> rr (SEQUENCE OF RevDetails) -> [0] crlEntryDetails. */
const X509_EXTENSIONS *cmp_rr_entry_details(const OSSL_CMP_MSG *msg)
{
    const ASN1_ITEM *bit = NULL;
    const void *body = field_value(ASN1_ITEM_rptr(OSSL_CMP_MSG), msg, "body", &bit);
    if (body == NULL || bit == NULL)
        return NULL;
    /* The choice's template names its element type for the stack. */
    for (long i = 0; i < bit->tcount; i++) {
        const ASN1_TEMPLATE *tt = &bit->templates[i];
        if (tt->field_name == NULL || strcmp(tt->field_name, "value.rr") != 0)
            continue;
        if (*(const int *)((const char *)body + bit->utype) != i)
            return NULL;
        const STACK_OF(ASN1_VALUE) *sk = *(void *const *)((const char *)body + tt->offset);
        const ASN1_ITEM *rit = ASN1_ITEM_ptr(tt->item);
        /* RevReqContent is an item template: SEQUENCE OF RevDetails. */
        if (!(tt->flags & ASN1_TFLG_SK_MASK)) {
            if (rit->itype != ASN1_ITYPE_PRIMITIVE || rit->templates == NULL || rit->tcount > 1 ||
                !(rit->templates[0].flags & ASN1_TFLG_SK_MASK))
                return NULL;
            rit = ASN1_ITEM_ptr(rit->templates[0].item);
        }
        if (sk == NULL || sk_ASN1_VALUE_num(sk) != 1)
            return NULL;
        return field_value(rit, sk_ASN1_VALUE_value(sk, 0), "crlEntryDetails", NULL);
    }
    return NULL;
}

int cmp_pkisi_status(const OSSL_CMP_PKISI *si)
{
    const ASN1_INTEGER *v = field_value(ASN1_ITEM_rptr(OSSL_CMP_PKISI), si, "status", NULL);
    return v ? (int)ASN1_INTEGER_get(v) : -1;
}
