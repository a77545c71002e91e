/* Puts a request's public key into a certificate without OpenSSL's generic
 * X509_set_pubkey, which encodes the key through an OSSL_ENCODER and decodes
 * it again (two provider lookups: two thirds of the issuing time). The
 * SubjectPublicKeyInfo parts are read from the key's parameters and set with
 * X509_PUBKEY_set0_param; RSA's RSAPublicKey goes through an ASN.1 template.
 * Unusual keys (explicit curves, RSA-PSS) take the generic path. */
#include <string.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include "ca_internal.h"
#include "crypto/spki_parts.h"

static int rsa_public_der(EVP_PKEY *pk, unsigned char **der, int *len)
{
    BIGNUM *n = NULL, *e = NULL;
    CERTA_RSA_PUB pub = { 0 };
    int ok = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) &&
             EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) &&
             (pub.n = BN_to_ASN1_INTEGER(n, NULL)) != NULL && (pub.e = BN_to_ASN1_INTEGER(e, NULL)) != NULL &&
             (*len = ASN1_item_i2d((ASN1_VALUE *)&pub, der, ASN1_ITEM_rptr(CERTA_RSA_PUB))) > 0;
    ASN1_INTEGER_free(pub.n);
    ASN1_INTEGER_free(pub.e);
    BN_free(n);
    BN_free(e);
    return ok;
}

/* Copies a decoded SubjectPublicKeyInfo: algorithm and key bits. */
static int copy_spki(X509_PUBKEY *dst, const X509_PUBKEY *src)
{
    const unsigned char *bits;
    int len;
    X509_ALGOR *alg;
    return X509_PUBKEY_get0_param(NULL, &bits, &len, &alg, src) && len > 0 &&
           certa_spki_set_parts(dst, alg, bits, len);
}

int certa_spki_set(X509 *x, EVP_PKEY *pk, const X509_PUBKEY *spki)
{
    if (spki != NULL && X509_get_X509_PUBKEY(x) != NULL && copy_spki(X509_get_X509_PUBKEY(x), spki))
        return 1;
    X509_PUBKEY *xp = X509_get_X509_PUBKEY(x);
    unsigned char *enc = NULL;
    int len = 0, ptype = V_ASN1_UNDEF, id = EVP_PKEY_get_base_id(pk);
    void *pval = NULL;
    ASN1_OBJECT *alg = NULL;
    size_t sz = 0;
    if (id == EVP_PKEY_EC) {
        char group[64];
        int nid = NID_undef;
        if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &sz)) {
            nid = OBJ_txt2nid(group);
            if (nid == NID_undef)
                nid = EC_curve_nist2nid(group);
        }
        if (nid != NID_undef && EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, NULL, 0, &sz) &&
            sz > 0 && sz < 256 && (enc = OPENSSL_malloc(sz)) != NULL &&
            EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, enc, sz, &sz)) {
            alg = OBJ_nid2obj(NID_X9_62_id_ecPublicKey);
            ptype = V_ASN1_OBJECT;
            pval = OBJ_nid2obj(nid);
            len = (int)sz;
        }
    } else if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) {
        if (EVP_PKEY_get_raw_public_key(pk, NULL, &sz) && sz > 0 && sz < 256 &&
            (enc = OPENSSL_malloc(sz)) != NULL && EVP_PKEY_get_raw_public_key(pk, enc, &sz)) {
            alg = OBJ_nid2obj(id);
            len = (int)sz;
        }
    } else if (id == EVP_PKEY_RSA) {
        if (rsa_public_der(pk, &enc, &len)) {
            alg = OBJ_nid2obj(NID_rsaEncryption);
            ptype = V_ASN1_NULL;
        }
    }
    if (alg == NULL || xp == NULL) {
        OPENSSL_free(enc);
        ERR_clear_error();
        return X509_set_pubkey(x, pk);
    }
    if (!X509_PUBKEY_set0_param(xp, alg, ptype, pval, enc, len)) {
        OPENSSL_free(enc);
        return 0;
    }
    return 1;
}
