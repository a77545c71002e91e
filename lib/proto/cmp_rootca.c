/* RootCaKeyUpdateContent (RFC 9810 5.3.19.15, RFC 9480 2.14), which
 * OpenSSL 3.0 does not know: defined with OpenSSL's ASN.1 templates and
 * carried in an ITAV as a SEQUENCE, for the genp of a root CA update
 * (RFC 9483 4.3.2) and for the client reading and checking it. The CMP module has
 * EXPLICIT tags. */
#include <string.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include "proto/cmp_internal.h"

typedef struct {
    X509 *newWithNew;
    X509 *newWithOld;   /* [0] OPTIONAL */
    X509 *oldWithNew;   /* [1] OPTIONAL */
} CMP_ROOTCAKEYUPDATE;

ASN1_SEQUENCE(CMP_ROOTCAKEYUPDATE) = {
    ASN1_SIMPLE(CMP_ROOTCAKEYUPDATE, newWithNew, X509),
    ASN1_EXP_OPT(CMP_ROOTCAKEYUPDATE, newWithOld, X509, 0),
    ASN1_EXP_OPT(CMP_ROOTCAKEYUPDATE, oldWithNew, X509, 1),
} static_ASN1_SEQUENCE_END(CMP_ROOTCAKEYUPDATE)

static void rootca_free(CMP_ROOTCAKEYUPDATE *c)
{
    ASN1_item_free((ASN1_VALUE *)c, ASN1_ITEM_rptr(CMP_ROOTCAKEYUPDATE));
}

int cmp_oid_is(const ASN1_OBJECT *o, const char *dotted)
{
    char buf[80];
    int n = o ? OBJ_obj2txt(buf, sizeof(buf), o, 1) : -1;
    return n > 0 && (size_t)n < sizeof(buf) && strcmp(buf, dotted) == 0;
}

int cmp_rootca_encode(X509 *new_with_new, X509 *new_with_old, X509 *old_with_new, ASN1_STRING **out)
{
    /* The structure borrows the certificates for the encoding. */
    CMP_ROOTCAKEYUPDATE c = { new_with_new, new_with_old, old_with_new };
    unsigned char *der = NULL;
    *out = NULL;
    if (new_with_new == NULL)
        return -1;
    int len = ASN1_item_i2d((ASN1_VALUE *)&c, &der, ASN1_ITEM_rptr(CMP_ROOTCAKEYUPDATE));
    if (len <= 0 || (*out = ASN1_STRING_type_new(V_ASN1_SEQUENCE)) == NULL) {
        OPENSSL_free(der);
        return -1;
    }
    ASN1_STRING_set0(*out, der, len);
    return 0;
}

int cmp_rootca_decode(const ASN1_TYPE *t, X509 **new_with_new, X509 **new_with_old, X509 **old_with_new)
{
    *new_with_new = *new_with_old = *old_with_new = NULL;
    if (t == NULL || t->type != V_ASN1_SEQUENCE)
        return -1;
    const unsigned char *p = ASN1_STRING_get0_data(t->value.sequence);
    long len = ASN1_STRING_length(t->value.sequence);
    CMP_ROOTCAKEYUPDATE *c =
        (CMP_ROOTCAKEYUPDATE *)ASN1_item_d2i(NULL, &p, len, ASN1_ITEM_rptr(CMP_ROOTCAKEYUPDATE));
    if (c == NULL)
        return -1;
    if (p != ASN1_STRING_get0_data(t->value.sequence) + len) {
        rootca_free(c);
        return -1;
    }
    *new_with_new = c->newWithNew;
    *new_with_old = c->newWithOld;
    *old_with_new = c->oldWithNew;
    c->newWithNew = c->newWithOld = c->oldWithNew = NULL;
    rootca_free(c);
    return 0;
}

/* The new root's certificates, checked against the current CA (cur):
 * newWithNew a self-signed CA certificate other than cur; newWithOld, when
 * sent, the new key certified by cur's key; oldWithNew, when sent, cur's
 * key certified by the new one. */
int cmp_rootca_check(X509 *cur, X509 *nwn, X509 *nwo, X509 *own)
{
    int rc = 0;
    if (X509_check_ca(nwn) < 1)
        rc = certa_error_set(CERTA_EPROTO, "the new root (newWithNew) is not a CA certificate");
    else if (X509_self_signed(nwn, 1) != 1)
        rc = certa_error_set(CERTA_EPROTO, "the new root (newWithNew) is not self-signed");
    else if (X509_cmp_time(X509_get0_notAfter(nwn), NULL) <= 0)
        rc = certa_error_set(CERTA_EPROTO, "the new root (newWithNew) has expired");
    else if (X509_cmp(nwn, cur) == 0)
        rc = certa_error_set(CERTA_EPROTO, "the CA offers its current certificate as the new root");
    else if (nwo != NULL && (X509_verify(nwo, X509_get0_pubkey(cur)) != 1 ||
                             EVP_PKEY_eq(X509_get0_pubkey(nwo), X509_get0_pubkey(nwn)) != 1))
        rc = certa_error_set(CERTA_EPOLICY, "newWithOld does not certify the new root's key with the current "
                             "CA's key");
    else if (own != NULL && (X509_verify(own, X509_get0_pubkey(nwn)) != 1 ||
                             EVP_PKEY_eq(X509_get0_pubkey(own), X509_get0_pubkey(cur)) != 1))
        rc = certa_error_set(CERTA_EPOLICY, "oldWithNew does not certify the current CA's key with the new "
                             "root's key");
    ERR_clear_error();
    return rc;
}
