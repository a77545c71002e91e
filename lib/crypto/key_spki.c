/* A SubjectPublicKeyInfo into a key. OpenSSL 3.0's d2i_PUBKEY (and every
 * X509 it parses) builds a fresh OSSL_DECODER context per key, which costs
 * more than the RSA public-key operation the key is then used for; an
 * rsaEncryption key is read here with ASN.1 templates and imported with
 * EVP_PKEY_fromdata instead. Other algorithms take d2i_PUBKEY. */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include "certa/key.h"
#include "crypto/spki_parts.h"

ASN1_SEQUENCE(CERTA_RSA_PUB) = {
    ASN1_SIMPLE(CERTA_RSA_PUB, n, ASN1_INTEGER),
    ASN1_SIMPLE(CERTA_RSA_PUB, e, ASN1_INTEGER),
} ASN1_SEQUENCE_END(CERTA_RSA_PUB)

ASN1_SEQUENCE(CERTA_SPKI_PARTS) = {
    ASN1_SIMPLE(CERTA_SPKI_PARTS, algor, X509_ALGOR),
    ASN1_SIMPLE(CERTA_SPKI_PARTS, bits, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END(CERTA_SPKI_PARTS)

int certa_spki_set_parts(X509_PUBKEY *dst, const X509_ALGOR *alg, const unsigned char *bits, int len)
{
    const ASN1_OBJECT *aobj;
    int ptype;
    const void *pval;
    X509_ALGOR_get0(&aobj, &ptype, &pval, alg);
    void *pv = NULL;
    if (ptype == V_ASN1_OBJECT)
        pv = OBJ_dup(pval);
    else if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL && pval != NULL)
        pv = ASN1_STRING_dup(pval);
    unsigned char *enc = len > 0 ? OPENSSL_memdup(bits, (size_t)len) : NULL;
    ASN1_OBJECT *obj = OBJ_dup(aobj);
    if ((len > 0 && enc == NULL) || obj == NULL ||
        (pval != NULL && ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF && pv == NULL) ||
        !X509_PUBKEY_set0_param(dst, obj, ptype, pv, enc, len)) {
        OPENSSL_free(enc);
        ASN1_OBJECT_free(obj);
        if (ptype == V_ASN1_OBJECT)
            ASN1_OBJECT_free(pv);
        else
            ASN1_STRING_free(pv);
        return 0;
    }
    return 1;
}

/* n and e into an RSA key; NULL when they are not a usable public key
 * (negative, even modulus, ...: the provider's import checks). */
static EVP_PKEY *rsa_from_parts(const CERTA_RSA_PUB *pub)
{
    EVP_PKEY *pk = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *n = ASN1_INTEGER_to_BN(pub->n, NULL), *e = ASN1_INTEGER_to_BN(pub->e, NULL);
    if (bld != NULL && n != NULL && e != NULL && !BN_is_negative(n) && !BN_is_negative(e) && BN_is_odd(n) &&
        BN_is_odd(e) && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
        (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pk = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return pk;
}

/* The rsaEncryption key of parts (parameters absent or NULL, as RFC 3279
 * requires, and nothing after RSAPublicKey), or NULL when parts is another
 * algorithm or not such a key. */
static EVP_PKEY *rsa_key(const CERTA_SPKI_PARTS *parts)
{
    const ASN1_OBJECT *oid;
    int ptype;
    const void *pval;
    X509_ALGOR_get0(&oid, &ptype, &pval, parts->algor);
    if (OBJ_obj2nid(oid) != NID_rsaEncryption || (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF))
        return NULL;
    const unsigned char *p = ASN1_STRING_get0_data(parts->bits);
    long len = ASN1_STRING_length(parts->bits);
    CERTA_RSA_PUB *pub = (CERTA_RSA_PUB *)ASN1_item_d2i(NULL, &p, len, ASN1_ITEM_rptr(CERTA_RSA_PUB));
    EVP_PKEY *pk = NULL;
    if (pub != NULL && p == ASN1_STRING_get0_data(parts->bits) + len)
        pk = rsa_from_parts(pub);
    ASN1_item_free((ASN1_VALUE *)pub, ASN1_ITEM_rptr(CERTA_RSA_PUB));
    return pk;
}

int certa_key_from_spki(const unsigned char *der, size_t len, EVP_PKEY **out)
{
    *out = NULL;
    if (der == NULL || len == 0 || len > 16384)
        return certa_error_set(CERTA_EINVAL, "public key empty or over 16384 bytes");
    const unsigned char *p = der;
    CERTA_SPKI_PARTS *parts = (CERTA_SPKI_PARTS *)ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(CERTA_SPKI_PARTS));
    int whole = parts != NULL && p == der + len;
    if (whole && (*out = rsa_key(parts)) == NULL) {
        const ASN1_OBJECT *oid;
        X509_ALGOR_get0(&oid, NULL, NULL, parts->algor);
        if (OBJ_obj2nid(oid) != NID_rsaEncryption) {
            p = der;
            *out = d2i_PUBKEY(NULL, &p, (long)len);
            if (*out != NULL && p != der + len) {
                EVP_PKEY_free(*out);
                *out = NULL;
            }
        }
    }
    ASN1_item_free((ASN1_VALUE *)parts, ASN1_ITEM_rptr(CERTA_SPKI_PARTS));
    ERR_clear_error();
    if (*out == NULL)
        return certa_error_set(CERTA_EINVAL, "unreadable public key (SubjectPublicKeyInfo)");
    return 0;
}
