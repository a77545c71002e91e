/* genm/genp: the general messages the CA answers. id-it-caCerts (RFC 9483
 * 4.3.1) returns the CA certificate and the chain above it;
 * id-it-certReqTemplate (4.3.3) a template with the key usage and extended
 * key usage the profile grants; a root CA update (4.3.2) the rollover CA
 * of [ca] next_ca_cert as RootCaKeyUpdateContent, or no value when none is
 * configured or the client's root is not this CA's; other info types are
 * answered without a value. */
#include <stdio.h>
#include <openssl/asn1t.h>
#include "ca/ca_internal.h"
#include "proto/cmp_internal.h"

/* CertReqTemplateContent ::= SEQUENCE { certTemplate CertTemplate,
 * keySpec Controls OPTIONAL } -- keySpec is not sent. */
typedef struct {
    OSSL_CRMF_CERTTEMPLATE *certTemplate;
} CMP_CRT_CONTENT;
ASN1_SEQUENCE(CMP_CRT_CONTENT) = {
    ASN1_SIMPLE(CMP_CRT_CONTENT, certTemplate, OSSL_CRMF_CERTTEMPLATE),
} ASN1_SEQUENCE_END(CMP_CRT_CONTENT)

static int template_encode(struct cmp_req *rq, ASN1_TYPE **out)
{
    const certa_profile *p = certa_ca_profile(rq->ca, rq->profile);
    OSSL_CRMF_MSG *crm = OSSL_CRMF_MSG_new();
    X509_EXTENSIONS *exts = sk_X509_EXTENSION_new_null();
    ASN1_STRING *seq = NULL;
    int rc = -1;
    if (p == NULL || crm == NULL || exts == NULL)
        goto out;
    X509_EXTENSION *ku = p->ku_ext_rsa ? p->ku_ext_rsa : p->ku_ext_other;
    if ((ku != NULL && !X509v3_add_ext(&exts, ku, -1)) || (p->eku_ext != NULL && !X509v3_add_ext(&exts, p->eku_ext, -1)))
        goto out;
    if (!OSSL_CRMF_MSG_set0_extensions(crm, exts))
        goto out;
    exts = NULL;
    CMP_CRT_CONTENT c = { OSSL_CRMF_MSG_get0_tmpl(crm) };
    if ((seq = ASN1_item_pack(&c, ASN1_ITEM_rptr(CMP_CRT_CONTENT), NULL)) == NULL || (*out = ASN1_TYPE_new()) == NULL)
        goto out;
    ASN1_TYPE_set(*out, V_ASN1_SEQUENCE, seq);
    seq = NULL;
    rc = 0;
out:
    certa_error_clear();
    ASN1_STRING_free(seq);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    OSSL_CRMF_MSG_free(crm);
    return rc;
}

/* The root the client names (the value of id-it-rootCaCert, or of
 * id-it-rootCaKeyUpdate as some clients send it) is this CA or one above
 * it; no value names none. A value that is no certificate matches nothing. */
static int names_our_root(struct cmp_req *rq, const ASN1_TYPE *v)
{
    if (v == NULL || v->type == V_ASN1_NULL)
        return 1;
    if (v->type != V_ASN1_SEQUENCE)
        return 0;
    X509 *x = ASN1_item_unpack(v->value.sequence, ASN1_ITEM_rptr(X509));
    int ours = x != NULL && X509_cmp(x, certa_ca_cert(rq->ca)) == 0;
    const STACK_OF(X509) *chain = certa_ca_chain(rq->ca);
    for (int i = 0; x != NULL && !ours && i < sk_X509_num(chain); i++)
        ours = X509_cmp(x, sk_X509_value(chain, i)) == 0;
    X509_free(x);
    ERR_clear_error();
    return ours;
}

static int rootca_answer(struct cmp_req *rq, const OSSL_CMP_ITAV *q, ASN1_TYPE **val)
{
    ASN1_STRING *s = NULL;
    *val = NULL;
    if (rq->st->rootca_update == NULL || !names_our_root(rq, OSSL_CMP_ITAV_get0_value(q)))
        return 0;
    if ((s = ASN1_STRING_dup(rq->st->rootca_update)) == NULL || (*val = ASN1_TYPE_new()) == NULL) {
        ASN1_STRING_free(s);
        return -1;
    }
    ASN1_TYPE_set(*val, V_ASN1_SEQUENCE, s);
    return 1;
}

int cmp_genm_answer(struct cmp_req *rq, const STACK_OF(OSSL_CMP_ITAV) *in, STACK_OF(OSSL_CMP_ITAV) **out)
{
    *out = sk_OSSL_CMP_ITAV_new_null();
    if (*out == NULL)
        return 0;
    for (int i = 0; i < sk_OSSL_CMP_ITAV_num(in) && i < 16; i++) {
        const OSSL_CMP_ITAV *q = sk_OSSL_CMP_ITAV_value(in, i);
        int nid = OBJ_obj2nid(OSSL_CMP_ITAV_get0_type(q));
        ASN1_TYPE *val = NULL;
        ASN1_OBJECT *type = NULL;
        if (cmp_oid_is(OSSL_CMP_ITAV_get0_type(q), CMP_OID_ROOTCA_CERT) ||
            cmp_oid_is(OSSL_CMP_ITAV_get0_type(q), CMP_OID_ROOTCA_KEY_UPDATE)) {
            int r = rootca_answer(rq, q, &val);
            /* The answer's infoType is id-it-rootCaKeyUpdate either way. */
            if (r < 0 || (type = OBJ_txt2obj(CMP_OID_ROOTCA_KEY_UPDATE, 1)) == NULL) {
                ASN1_TYPE_free(val);
                goto fail;
            }
            snprintf(rq->detail, sizeof(rq->detail), "root CA update %s", r ? "sent" : "none available");
        } else if (nid == NID_id_it_caCerts) {
            STACK_OF(X509) *certs = sk_X509_new_null();
            if (certs == NULL || !X509_add_cert(certs, certa_ca_cert(rq->ca), X509_ADD_FLAG_UP_REF) ||
                !X509_add_certs(certs, certa_ca_chain(rq->ca), X509_ADD_FLAG_UP_REF) ||
                cmp_certs_encode(certs, &val) < 0) {
                sk_X509_pop_free(certs, X509_free);
                goto fail;
            }
            sk_X509_pop_free(certs, X509_free);
        } else if (nid == NID_id_it_certReqTemplate && template_encode(rq, &val) < 0) {
            goto fail;
        }
        if (type == NULL)
            type = OBJ_dup(OSSL_CMP_ITAV_get0_type(q));
        OSSL_CMP_ITAV *a = type ? OSSL_CMP_ITAV_create(type, val) : NULL;
        if (a == NULL) {
            ASN1_OBJECT_free(type);
            ASN1_TYPE_free(val);
            goto fail;
        }
        if (!sk_OSSL_CMP_ITAV_push(*out, a)) {
            OSSL_CMP_ITAV_free(a);
            goto fail;
        }
    }
    if (!rq->detail[0])
        snprintf(rq->detail, sizeof(rq->detail), "genp items=%d", sk_OSSL_CMP_ITAV_num(*out));
    return 1;
fail:
    sk_OSSL_CMP_ITAV_pop_free(*out, OSSL_CMP_ITAV_free);
    *out = NULL;
    return 0;
}
