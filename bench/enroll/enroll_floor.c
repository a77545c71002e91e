/* bench/enroll's floor: what OpenSSL alone costs the device for its share
 * of one SCEP enrollment, with nothing of certa around it. It starts,
 * loads the RSA key (PKCS#8 PEM, the decoder narrowed as certa narrows
 * it), and does the four private-key operations every SCEP client does:
 * signing the PKCS#10, signing the transient self-signed certificate,
 * signing the SignedData, and decrypting the CertRep's content key.
 * No network, no files written. bench/enroll/run times it like the
 * clients, so the figures say how much of certa's time and memory is
 * OpenSSL's own (library start-up, provider and decoder set-up, RSA). */
#include <stdio.h>
#include <stdlib.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>

static int sign_once(EVP_PKEY *key, const unsigned char *msg, size_t len)
{
    unsigned char sig[1024];
    size_t sig_len = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(md, sig, &sig_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* The CA encrypts a content key to us; we decrypt it. */
static int decrypt_once(EVP_PKEY *key)
{
    unsigned char content_key[32] = { 1 }, wrapped[1024], back[1024];
    size_t wrapped_len = sizeof(wrapped), back_len = sizeof(back);
    EVP_PKEY_CTX *enc = EVP_PKEY_CTX_new(key, NULL), *dec = EVP_PKEY_CTX_new(key, NULL);
    int ok = enc != NULL && dec != NULL && EVP_PKEY_encrypt_init(enc) == 1 &&
             EVP_PKEY_encrypt(enc, wrapped, &wrapped_len, content_key, sizeof(content_key)) == 1 &&
             EVP_PKEY_decrypt_init(dec) == 1 && EVP_PKEY_decrypt(dec, back, &back_len, wrapped, wrapped_len) == 1 &&
             back_len == sizeof(content_key);
    EVP_PKEY_CTX_free(enc);
    EVP_PKEY_CTX_free(dec);
    return ok;
}

int main(int argc, char **argv)
{
    static unsigned char pem[65536];
    if (argc != 2) {
        fprintf(stderr, "usage: enroll_floor KEY.pem (unencrypted PKCS#8 RSA)\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    size_t len = f != NULL ? fread(pem, 1, sizeof(pem), f) : 0;
    if (f != NULL)
        fclose(f);
    EVP_PKEY *key = NULL;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&key, "PEM", "PrivateKeyInfo", "RSA",
                                                           OSSL_KEYMGMT_SELECT_PRIVATE_KEY, NULL, NULL);
    const unsigned char *p = pem;
    int ok = dctx != NULL && len > 0 && OSSL_DECODER_from_data(dctx, &p, &len) && key != NULL;
    OSSL_DECODER_CTX_free(dctx);
    static const unsigned char tbs[600] = { 0x30 };
    for (int i = 0; ok && i < 3; i++)
        ok = sign_once(key, tbs, sizeof(tbs));
    ok = ok && decrypt_once(key);
    EVP_PKEY_free(key);
    if (!ok) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    return 0;
}
