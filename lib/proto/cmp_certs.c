/* CaCerts (RFC 9483 4.3.1) as an ITAV value, both ways: the CA's genp
 * encodes it, the device's client decodes it. On its own so that the
 * device side links no CA code. */
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
