/* CMP shared secrets (reference value + secret for PBM). The server must
 * recompute the MAC, so the secret is stored encrypted with AES-256-GCM
 * under a key kept in the CA directory (mode 0600); the reference value is
 * the GCM additional data, so a blob cannot be moved to another reference. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "certa/cmp.h"
#include "certa/util.h"

#define KEY_FILE "cmp-secret.key"
#define KEY_LEN 32
#define IV_LEN 12
#define TAG_LEN 16

static int key_path(certa_ca *ca, char *out, size_t len)
{
    if ((size_t)snprintf(out, len, "%s/%s", certa_ca_dir(ca), KEY_FILE) >= len)
        return certa_error_set(CERTA_EINVAL, "CA directory path too long");
    return 0;
}

/* Loads the key; create: make it when missing. */
static int key_load(certa_ca *ca, int create, unsigned char key[KEY_LEN])
{
    char path[4096];
    certa_buf b = { 0 };
    int rc = key_path(ca, path, sizeof(path));
    if (rc < 0)
        return rc;
    rc = certa_file_read(path, 1024, &b);
    if (rc == CERTA_ENOTFOUND && create) {
        certa_error_clear();
        if (RAND_priv_bytes(key, KEY_LEN) != 1)
            return certa_error_ossl(CERTA_ECRYPTO, "no random bytes for the CMP secret key");
        rc = certa_file_write_atomic(path, key, KEY_LEN, 0600);
        return rc;
    }
    if (rc < 0)
        return rc;
    if (b.len != KEY_LEN) {
        certa_buf_free_secure(&b);
        return certa_error_set(CERTA_ECRYPTO, "%s: not a %d-byte key", path, KEY_LEN);
    }
    memcpy(key, b.data, KEY_LEN);
    certa_buf_free_secure(&b);
    return 0;
}

/* enc 1: in -> iv|ct|tag; enc 0: iv|ct|tag -> in. */
static int gcm(int enc, const unsigned char key[KEY_LEN], const char *aad, const unsigned char *in,
               size_t in_len, unsigned char *out, size_t *out_len)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int rc = certa_error_set(CERTA_ECRYPTO, "CMP secret %s failed", enc ? "encryption" : "decryption");
    int n = 0, m = 0;
    if (c == NULL)
        return rc;
    if (enc) {
        unsigned char *iv = out, *ct = out + IV_LEN;
        if (RAND_bytes(iv, IV_LEN) != 1 ||
            !EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) ||
            !EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) ||
            !EVP_EncryptUpdate(c, ct, &n, in, (int)in_len) || !EVP_EncryptFinal_ex(c, ct + n, &m) ||
            !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, ct + n + m))
            goto out;
        *out_len = IV_LEN + (size_t)(n + m) + TAG_LEN;
    } else {
        if (in_len < IV_LEN + TAG_LEN)
            goto out;
        size_t ct_len = in_len - IV_LEN - TAG_LEN;
        if (!EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, in) ||
            !EVP_DecryptUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) ||
            !EVP_DecryptUpdate(c, out, &n, in + IV_LEN, (int)ct_len) ||
            !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, (void *)(in + in_len - TAG_LEN)) ||
            EVP_DecryptFinal_ex(c, out + n, &m) <= 0)
            goto out;
        *out_len = (size_t)(n + m);
    }
    certa_error_clear();
    rc = 0;
out:
    EVP_CIPHER_CTX_free(c);
    return rc;
}

int certa_cmp_secret_create(certa_ca *ca, const struct certa_cmp_secret_params *p,
                            char ref[CERTA_CMP_REF_MAX + 1], char secret[CERTA_CMP_SECRET_MAX + 1])
{
    unsigned char key[KEY_LEN], rref[8], rsec[16], blob[IV_LEN + sizeof(rsec) * 2 + TAG_LEN];
    size_t blob_len = 0;
    int rc;
    if (p->uses == 0 || p->uses < -1)
        return certa_error_set(CERTA_EINVAL, "uses must be at least 1 (or unlimited)");
    if (p->ttl < 0)
        return certa_error_set(CERTA_EINVAL, "the lifetime must not be negative");
    if ((rc = key_load(ca, 1, key)) < 0)
        return rc;
    if (RAND_bytes(rref, sizeof(rref)) != 1 || RAND_priv_bytes(rsec, sizeof(rsec)) != 1) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "no random bytes");
        goto out;
    }
    certa_hex_encode(rref, sizeof(rref), ref);
    certa_hex_encode(rsec, sizeof(rsec), secret);
    if ((rc = gcm(1, key, ref, (const unsigned char *)secret, strlen(secret), blob, &blob_len)) < 0)
        goto out;
    struct certa_secret_row row = { 0 };
    row.kind = (char *)CERTA_CMP_SECRET_KIND;
    row.ref = ref;
    row.blob = blob;
    row.blob_len = blob_len;
    row.subject_pattern = (char *)(p->subject_pattern && p->subject_pattern[0] ? p->subject_pattern : NULL);
    row.uses_left = p->uses;
    row.created_at = (int64_t)time(NULL);
    row.expires_at = p->ttl > 0 ? row.created_at + p->ttl : 0;
    rc = certa_store_secret_insert(certa_ca_store(ca), &row);
out:
    certa_memzero(key, sizeof(key));
    certa_memzero(rsec, sizeof(rsec));
    certa_memzero(blob, sizeof(blob));
    if (rc < 0)
        certa_memzero(secret, CERTA_CMP_SECRET_MAX + 1);
    return rc;
}

int certa_cmp_secret_get(certa_ca *ca, const char *ref, unsigned char **secret, size_t *len,
                         struct certa_secret_row *row)
{
    struct certa_secret_row r = { 0 };
    unsigned char key[KEY_LEN];
    *secret = NULL;
    *len = 0;
    if (strlen(ref) > CERTA_CMP_REF_MAX)
        return certa_error_set(CERTA_ENOTFOUND, "unknown CMP reference value");
    int rc = certa_store_secret_get(certa_ca_store(ca), CERTA_CMP_SECRET_KIND, ref, &r);
    if (rc < 0)
        return rc;
    if ((rc = key_load(ca, 0, key)) < 0)
        goto out;
    if (r.blob_len > 4096 || (*secret = malloc(r.blob_len + 1)) == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = gcm(0, key, ref, r.blob, r.blob_len, *secret, len)) < 0) {
        free(*secret);
        *secret = NULL;
        goto out;
    }
    (*secret)[*len] = 0;
    if (row != NULL) {
        *row = r;
        memset(&r, 0, sizeof(r));
    }
out:
    certa_memzero(key, sizeof(key));
    certa_secret_row_clear(&r);
    return rc;
}
