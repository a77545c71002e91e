/* genm/genp: the general messages the CA answers. id-it-caCerts (RFC 9483
 * 4.3.1) returns the CA certificate and the chain above it; other info
 * types are answered without a value (OpenSSL 3.0 has no encoder for the
 * root CA update and request template contents). */
#include <stdio.h>
#include <openssl/asn1t.h>
#include "proto/cmp_internal.h"

/* CaCerts ::= SEQUENCE SIZE (1..MAX) OF CMPCertificate (X.509 here). */
ASN1_ITEM_TEMPLATE(CMP_CERTS) = ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, certs, X509)
ASN1_ITEM_TEMPLATE_END(CMP_CERTS)

int cmp_certs_encode(const STACK_OF(X509) *certs, ASN1_TYPE **out)
{
    ASN1_STRING *seq = ASN1_item_pack((void *)certs, ASN1_ITEM_rptr(CMP_CERTS), NULL);
    if (seq == NULL || (*out = ASN1_TYPE_new()) == NULL) {
        ASN1_STRING_free(seq);
        return -1;
    }
    ASN1_TYPE_set(*out, V_ASN1_SEQUENCE, seq);
    return 0;
}

STACK_OF(X509) *cmp_certs_decode(const ASN1_TYPE *t)
{
    if (t == NULL || t->type != V_ASN1_SEQUENCE)
        return NULL;
    return ASN1_item_unpack(t->value.sequence, ASN1_ITEM_rptr(CMP_CERTS));
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
        if (nid == NID_id_it_caCerts) {
            STACK_OF(X509) *certs = sk_X509_new_null();
            if (certs == NULL || !X509_add_cert(certs, certa_ca_cert(rq->ca), X509_ADD_FLAG_UP_REF) ||
                !X509_add_certs(certs, certa_ca_chain(rq->ca), X509_ADD_FLAG_UP_REF) ||
                cmp_certs_encode(certs, &val) < 0) {
                sk_X509_pop_free(certs, X509_free);
                goto fail;
            }
            sk_X509_pop_free(certs, X509_free);
        }
        ASN1_OBJECT *type = OBJ_dup(OSSL_CMP_ITAV_get0_type(q));
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
    snprintf(rq->detail, sizeof(rq->detail), "genp items=%d", sk_OSSL_CMP_ITAV_num(*out));
    return 1;
fail:
    sk_OSSL_CMP_ITAV_pop_free(*out, OSSL_CMP_ITAV_free);
    *out = NULL;
    return 0;
}
