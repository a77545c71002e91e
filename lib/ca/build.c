/* Builds a certificate for an allowed request FROM THE PROFILE and signs it.
 * From the request only the subject (already checked), the SANs (checked),
 * the public key, a narrower key usage and EKU set, and an earlier end date
 * are taken. basicConstraints is always CA:FALSE. */
#include <time.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include "ca_internal.h"

#define BACKDATE_S 300   /* device clocks run behind; 5 minutes of slack */

static int add_ext(X509 *x, X509_EXTENSION *ext)
{
    return ext == NULL || X509_add_ext(x, ext, -1) == 1;
}

/* Key usage: the requested bits inside the profile's set, or the profile's
 * set when the request names none of them. */
static int add_key_usage(X509 *x, const certa_profile *p, const struct certa_request *req, int rsa)
{
    unsigned grant = rsa ? p->key_usage : p->key_usage & ~((1u << 2) | (1u << 3));
    X509_EXTENSION *pre = rsa ? p->ku_ext_rsa : p->ku_ext_other;
    if (grant == 0)
        return 1;
    ASN1_BIT_STRING *ku = req->extensions ? X509V3_get_d2i(req->extensions, NID_key_usage, NULL, NULL) : NULL;
    if (ku == NULL)
        return add_ext(x, pre);
    unsigned want = 0;
    for (int i = 0; i < 9; i++)
        if (ASN1_BIT_STRING_get_bit(ku, i))
            want |= 1u << i;
    ASN1_BIT_STRING_free(ku);
    unsigned bits = want & grant;
    if (bits == 0 || bits == grant)
        return add_ext(x, pre);
    ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
    int ok = bs != NULL;
    for (int i = 0; ok && i < 9; i++)
        if (bits & (1u << i))
            ok = ASN1_BIT_STRING_set_bit(bs, i, 1);
    ok = ok && X509_add1_ext_i2d(x, NID_key_usage, bs, 1, X509V3_ADD_DEFAULT) == 1;
    ASN1_BIT_STRING_free(bs);
    return ok;
}

/* EKU: requested ∩ allowed, or every allowed usage when none was asked for. */
static int add_eku(X509 *x, const certa_profile *p, const struct certa_request *req)
{
    if (p->neku == 0)
        return 1;
    EXTENDED_KEY_USAGE *want = req->extensions ? X509V3_get_d2i(req->extensions, NID_ext_key_usage, NULL, NULL) : NULL;
    if (want == NULL)
        return add_ext(x, p->eku_ext);
    EXTENDED_KEY_USAGE *grant = sk_ASN1_OBJECT_new_null();
    int ok = grant != NULL;
    for (size_t j = 0; ok && j < p->neku; j++) {
        int hit = 0;
        for (int i = 0; i < sk_ASN1_OBJECT_num(want); i++)
            hit |= OBJ_cmp(sk_ASN1_OBJECT_value(want, i), p->eku[j]) == 0;
        if (hit)
            ok = sk_ASN1_OBJECT_push(grant, p->eku[j]) > 0;
    }
    if (ok && sk_ASN1_OBJECT_num(grant) > 0)
        ok = X509_add1_ext_i2d(x, NID_ext_key_usage, grant, 0, X509V3_ADD_DEFAULT) == 1;
    else if (ok)
        ok = add_ext(x, p->eku_ext);   /* policy.c refused disjoint requests */
    sk_ASN1_OBJECT_free(grant);
    EXTENDED_KEY_USAGE_free(want);
    return ok;
}

static int add_ski(X509 *x, EVP_PKEY *pub)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
    /* RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING. */
    int ok = ski != NULL && X509_pubkey_digest(x, EVP_sha1(), md, &mdlen) == 1 &&
             ASN1_OCTET_STRING_set(ski, md, (int)mdlen) &&
             X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, X509V3_ADD_DEFAULT) == 1;
    (void)pub;
    ASN1_OCTET_STRING_free(ski);
    return ok;
}

static int sign(certa_ca *ca, const certa_profile *p, X509 *x)
{
    if (p->sign_tmpl != NULL) {
        if (ca->sign_ctx == NULL)
            ca->sign_ctx = EVP_MD_CTX_new();
        if (ca->sign_ctx != NULL && EVP_MD_CTX_copy_ex(ca->sign_ctx, p->sign_tmpl) == 1) {
            /* FINALISE: the copy is used once, so DigestSignFinal need not
             * duplicate it again. */
            EVP_MD_CTX_set_flags(ca->sign_ctx, EVP_MD_CTX_FLAG_FINALISE);
            return X509_sign_ctx(x, ca->sign_ctx);
        }
    }
    return X509_sign(x, ca->key, p->md);
}

int certa_build_cert(certa_ca *ca, const certa_profile *p, const struct certa_request *req,
                     X509 **out, char serial_hex[CERTA_SERIAL_HEX_MAX])
{
    int rc = CERTA_ECRYPTO;
    ASN1_INTEGER *sn = NULL;
    X509 *x = NULL;
    *out = NULL;
    if (ca->key == NULL)
        return certa_error_set(CERTA_ESTATE, "the CA was opened read-only: cannot sign");
    if ((rc = certa_serial_random(&sn, serial_hex)) < 0)
        return rc;
    rc = CERTA_ECRYPTO;
    if ((x = X509_new()) == NULL)
        goto ossl;

    time_t now = time(NULL);
    int64_t end = (int64_t)now + (int64_t)p->days * 86400;
    if (req->not_after != 0 && req->not_after < end)
        end = req->not_after;
    /* Never outlive the CA: the chain would not verify at the end. */
    int pday = 0, psec = 0;
    if (ASN1_TIME_diff(&pday, &psec, NULL, X509_get0_notAfter(ca->cert))) {
        int64_t ca_end = (int64_t)now + (int64_t)pday * 86400 + psec;
        if (ca_end < end)
            end = ca_end;
    }
    if (!X509_set_version(x, X509_VERSION_3) || !X509_set_serialNumber(x, sn) ||
        !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
        !X509_set_subject_name(x, req->subject) ||
        !ASN1_TIME_set(X509_getm_notBefore(x), now - BACKDATE_S) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)end) || !certa_spki_set(x, req->pubkey, req->spki))
        goto ossl;

    int rsa = EVP_PKEY_get_base_id(req->pubkey) == EVP_PKEY_RSA;
    if (!add_ext(x, p->bc_ext) || !add_key_usage(x, p, req, rsa) || !add_eku(x, p, req) ||
        !add_ski(x, req->pubkey) || !add_ext(x, ca->aki_ext))
        goto ossl;
    if (req->sans != NULL && sk_GENERAL_NAME_num(req->sans) > 0 &&
        X509_add1_ext_i2d(x, NID_subject_alt_name, req->sans, 0, X509V3_ADD_DEFAULT) != 1)
        goto ossl;
    if (!add_ext(x, p->cdp_ext) || !add_ext(x, p->aia_ext) || !add_ext(x, p->nocheck_ext))
        goto ossl;
    if (sign(ca, p, x) <= 0)
        goto ossl;
    *out = x;
    x = NULL;
    rc = 0;
    goto out;
ossl:
    rc = certa_error_ossl(CERTA_ECRYPTO, "building the certificate");
out:
    X509_free(x);
    ASN1_INTEGER_free(sn);
    return rc;
}
