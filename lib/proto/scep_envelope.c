/* The reply's pkcsPKIEnvelope: content enveloped for the requester, named
 * by the issuer and serial its SignerInfo gave, with the cipher its own
 * envelope used. Assembled here with OpenSSL's PKCS#7 structures rather
 * than by PKCS7_encrypt, which wants the recipient as a decoded X509 (and
 * so a decoded key: scep_decode.c keeps the signer's certificate as bytes). */
#include <limits.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include "scep_internal.h"

/* The content-encryption key for the requester's RSA key (PKCS#1 v1.5,
 * as RFC 8894 3.2.1 uses it) into ri. */
static int encrypt_key(PKCS7_RECIP_INFO *ri, EVP_PKEY *pub, const unsigned char *key, size_t klen)
{
    unsigned char *ek = NULL;
    size_t eklen = 0;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pub, NULL);
    int ok = pc != NULL && EVP_PKEY_encrypt_init(pc) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_encrypt(pc, NULL, &eklen, key, klen) == 1 && eklen <= INT_MAX &&
             (ek = OPENSSL_malloc(eklen)) != NULL && EVP_PKEY_encrypt(pc, ek, &eklen, key, klen) == 1;
    EVP_PKEY_CTX_free(pc);
    if (ok)
        ASN1_STRING_set0(ri->enc_key, ek, (int)eklen);
    else
        OPENSSL_free(ek);
    return ok && X509_ALGOR_set0(ri->key_enc_algor, OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL, NULL);
}

int scep_envelope_for(const struct scep_msg *req, const unsigned char *content, size_t len, certa_buf *out)
{
    const EVP_CIPHER *cipher = EVP_get_cipherbynid(req->cipher_nid);
    const PKCS7_ISSUER_AND_SERIAL *ias = req->si->issuer_and_serial;
    unsigned char key[EVP_MAX_KEY_LENGTH], iv[EVP_MAX_IV_LENGTH], *ct = NULL, *der = NULL;
    int ctlen = 0, fin = 0, rc = 0;
    PKCS7 *env = PKCS7_new();
    PKCS7_RECIP_INFO *ri = PKCS7_RECIP_INFO_new();
    EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
    int klen = cipher ? EVP_CIPHER_get_key_length(cipher) : 0, ivlen = cipher ? EVP_CIPHER_get_iv_length(cipher) : 0;
    if (cipher == NULL || ias == NULL || req->signer_key == NULL || len > SCEP_MSG_MAX || klen <= 0 ||
        klen > (int)sizeof(key) || ivlen <= 0 || ivlen > (int)sizeof(iv)) {
        rc = certa_error_set(CERTA_ECRYPTO, "enveloping the reply for the requester: no usable cipher or key");
        goto out;
    }
    /* EVP_CIPHER_CTX_rand_key: DES keys get their parity bits. */
    int ok = env != NULL && ri != NULL && cc != NULL && PKCS7_set_type(env, NID_pkcs7_enveloped) &&
             EVP_EncryptInit_ex(cc, cipher, NULL, NULL, NULL) == 1 && EVP_CIPHER_CTX_rand_key(cc, key) == 1 &&
             RAND_bytes(iv, ivlen) == 1 && EVP_EncryptInit_ex(cc, NULL, NULL, key, iv) == 1 &&
             (ct = OPENSSL_malloc(len + (size_t)EVP_CIPHER_get_block_size(cipher))) != NULL &&
             EVP_EncryptUpdate(cc, ct, &ctlen, content, (int)len) == 1 &&
             EVP_EncryptFinal_ex(cc, ct + ctlen, &fin) == 1;
    PKCS7_ENC_CONTENT *ec = ok ? env->d.enveloped->enc_data : NULL;
    ok = ok && (ec->enc_data = ASN1_OCTET_STRING_new()) != NULL;
    if (ok) {
        ASN1_STRING_set0(ec->enc_data, ct, ctlen + fin);
        ct = NULL;
    }
    ok = ok && X509_ALGOR_set0(ec->algorithm, OBJ_nid2obj(EVP_CIPHER_get_type(cipher)), V_ASN1_UNDEF, NULL) &&
         (ec->algorithm->parameter = ASN1_TYPE_new()) != NULL &&
         EVP_CIPHER_param_to_asn1(cc, ec->algorithm->parameter) > 0 && ASN1_INTEGER_set(ri->version, 0) &&
         X509_NAME_set(&ri->issuer_and_serial->issuer, ias->issuer);
    if (ok) {
        ASN1_INTEGER_free(ri->issuer_and_serial->serial);
        ok = (ri->issuer_and_serial->serial = ASN1_INTEGER_dup(ias->serial)) != NULL &&
             encrypt_key(ri, req->signer_key, key, (size_t)klen) && PKCS7_add_recipient_info(env, ri);
    }
    if (!ok) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "enveloping the reply for the requester");
        goto out;
    }
    ri = NULL;                  /* env's now */
    int n = i2d_PKCS7(env, &der);
    out->len = 0;
    rc = n > 0 ? certa_buf_append(out, der, (size_t)n) : certa_error_ossl(CERTA_ECRYPTO, "encoding the envelope");
out:
    OPENSSL_free(der);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_free(ct);
    EVP_CIPHER_CTX_free(cc);
    PKCS7_RECIP_INFO_free(ri);
    PKCS7_free(env);
    return rc;
}
