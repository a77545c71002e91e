/* The pkiMessage's ContentInfo and SignedData (scep_internal.h) as ASN.1
 * templates, for reading (scep_decode.c) and writing (scep_encode.c). */
#include <openssl/asn1t.h>
#include "scep_internal.h"

ASN1_SEQUENCE(SCEP_ENCAP) = {
    ASN1_SIMPLE(SCEP_ENCAP, type, ASN1_OBJECT),
    ASN1_EXP_OPT(SCEP_ENCAP, content, ASN1_OCTET_STRING, 0),
} static_ASN1_SEQUENCE_END(SCEP_ENCAP)

ASN1_SEQUENCE(SCEP_SIGNED) = {
    ASN1_SIMPLE(SCEP_SIGNED, version, ASN1_INTEGER),
    ASN1_SET_OF(SCEP_SIGNED, md_algs, X509_ALGOR),
    ASN1_SIMPLE(SCEP_SIGNED, contents, SCEP_ENCAP),
    ASN1_IMP_SET_OF_OPT(SCEP_SIGNED, certs, ASN1_ANY, 0),
    ASN1_IMP_SET_OF_OPT(SCEP_SIGNED, crls, ASN1_ANY, 1),
    ASN1_SET_OF(SCEP_SIGNED, signer_info, PKCS7_SIGNER_INFO),
} static_ASN1_SEQUENCE_END(SCEP_SIGNED)

ASN1_SEQUENCE(SCEP_CONTENT_INFO) = {
    ASN1_SIMPLE(SCEP_CONTENT_INFO, type, ASN1_OBJECT),
    ASN1_EXP(SCEP_CONTENT_INFO, d, SCEP_SIGNED, 0),
} ASN1_SEQUENCE_END(SCEP_CONTENT_INFO)
