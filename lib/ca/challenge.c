/* Challenge passwords: creation (random REF+SECRET, stored as a salted
 * PBKDF2-HMAC-SHA256 hash), checking in constant time against the stored
 * hash and the subject binding, and one-use consumption through the store. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "certa/challenge.h"
#include "certa/csr.h"
#include "certa/util.h"

/* The secret part carries 120 random bits, so the KDF's work factor is not
 * what protects it (there is no dictionary to try: 2^120 guesses at any
 * cost each); the salted hash keeps a copy of the store from yielding usable
 * passwords. NIST SP 800-63B (5.1.2.1) asks no more of look-up secrets of
 * at least 112 bits than an approved one-way function: one PBKDF2 round,
 * a salted HMAC-SHA256. (100 rounds were 35 us and a quarter of an
 * enrollment's CPU outside the RSA operations.) Each row records its own
 * count, so rows made with another one still verify. */
#define KDF_ITER 1
#define SALT_LEN 16
#define HASH_LEN 32
#define BLOB_VERSION 1
#define BLOB_LEN (1 + 4 + SALT_LEN + HASH_LEN)
#define CREATE_RETRIES 8

/* Crockford's base32 alphabet in lower case: no i, l, o, u to misread. */
static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

static int random_text(char *out, size_t n)
{
    unsigned char b[CERTA_CHALLENGE_LEN];
    if (n > sizeof(b) || RAND_bytes(b, (int)n) != 1)
        return certa_error_ossl(CERTA_ECRYPTO, "no random bytes for a challenge password");
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[b[i] & 31];
    out[n] = '\0';
    certa_memzero(b, sizeof(b));
    return 0;
}

static int derive(const char *password, size_t len, const unsigned char *salt, uint32_t iter,
                  unsigned char out[HASH_LEN])
{
    if (PKCS5_PBKDF2_HMAC(password, (int)len, salt, SALT_LEN, (int)iter, EVP_sha256(), HASH_LEN,
                          out) != 1)
        return certa_error_ossl(CERTA_ECRYPTO, "hashing a challenge password");
    return 0;
}

int certa_challenge_create(certa_store *s, const struct certa_challenge_params *p,
                           char password[CERTA_CHALLENGE_LEN + 1], char ref[CERTA_CHALLENGE_REF_LEN + 1])
{
    unsigned char blob[BLOB_LEN];
    int rc = 0;
    if (p->uses < -1)
        return certa_error_set(CERTA_EINVAL, "challenge uses must be a positive number or unlimited");
    if (p->ttl < 0)
        return certa_error_set(CERTA_EINVAL, "challenge lifetime must not be negative");
    for (int attempt = 0; attempt < CREATE_RETRIES; attempt++) {
        if ((rc = random_text(password, CERTA_CHALLENGE_LEN)) < 0)
            goto out;
        memcpy(ref, password, CERTA_CHALLENGE_REF_LEN);
        ref[CERTA_CHALLENGE_REF_LEN] = '\0';
        blob[0] = BLOB_VERSION;
        blob[1] = (unsigned char)(KDF_ITER >> 24);
        blob[2] = (unsigned char)(KDF_ITER >> 16);
        blob[3] = (unsigned char)(KDF_ITER >> 8);
        blob[4] = (unsigned char)KDF_ITER;
        if (RAND_bytes(blob + 5, SALT_LEN) != 1) {
            rc = certa_error_ossl(CERTA_ECRYPTO, "no random bytes for a salt");
            goto out;
        }
        if ((rc = derive(password, CERTA_CHALLENGE_LEN, blob + 5, KDF_ITER, blob + 5 + SALT_LEN)) < 0)
            goto out;
        int64_t now = (int64_t)time(NULL);
        struct certa_secret_row row = {
            .kind = CERTA_CHALLENGE_KIND,
            .ref = ref,
            .blob = blob,
            .blob_len = sizeof(blob),
            .subject_pattern = (char *)(p->subject_pattern && p->subject_pattern[0] ? p->subject_pattern : NULL),
            .uses_left = p->uses == 0 ? 1 : p->uses,
            .created_at = now,
            .expires_at = p->ttl > 0 ? now + p->ttl : 0,
        };
        rc = certa_store_secret_insert(s, &row);
        if (rc != CERTA_EEXIST)
            break;
        /* A REF collision (40 random bits): draw again. */
    }
out:
    certa_memzero(blob, sizeof(blob));
    if (rc < 0)
        certa_memzero(password, CERTA_CHALLENGE_LEN + 1);
    return rc;
}

/* fnmatch against the CN values (pattern without '=') or the one-line DN. */
static int subject_matches(const char *pattern, const X509_NAME *subject)
{
    if (strchr(pattern, '=') != NULL) {
        char *text = certa_name_text(subject);
        int ok = text != NULL && fnmatch(pattern, text, 0) == 0;
        free(text);
        return ok;
    }
    for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) >= 0; ) {
        unsigned char *utf8 = NULL;
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(subject, i);
        int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
        int ok = n >= 0 && strlen((char *)utf8) == (size_t)n && fnmatch(pattern, (char *)utf8, 0) == 0;
        OPENSSL_free(utf8);
        if (ok)
            return 1;
    }
    return 0;
}

int certa_challenge_check(certa_store *s, const char *password, const X509_NAME *subject, int64_t now,
                          char ref[CERTA_CHALLENGE_REF_LEN + 1], int *uses_left)
{
    struct certa_secret_row row = { 0 };
    unsigned char got[HASH_LEN];
    static const unsigned char dummy_salt[SALT_LEN];
    size_t len = password ? strnlen(password, CERTA_CHALLENGE_MAX + 1) : 0;
    int rc;
    ref[0] = '\0';
    if (len < CERTA_CHALLENGE_REF_LEN || len > CERTA_CHALLENGE_MAX)
        return certa_error_set(CERTA_EPASS, "challenge password unknown or wrong");
    char want_ref[CERTA_CHALLENGE_REF_LEN + 1];
    memcpy(want_ref, password, CERTA_CHALLENGE_REF_LEN);
    want_ref[CERTA_CHALLENGE_REF_LEN] = '\0';
    rc = certa_store_secret_get(s, CERTA_CHALLENGE_KIND, want_ref, &row);
    if (rc == CERTA_ENOTFOUND || (rc == 0 && (row.blob_len != BLOB_LEN || row.blob[0] != BLOB_VERSION))) {
        /* Same work as a real check, so timing does not tell which REFs exist. */
        derive(password, len, dummy_salt, KDF_ITER, got);
        rc = certa_error_set(CERTA_EPASS, "challenge password unknown or wrong");
        goto out;
    }
    if (rc < 0)
        goto out;
    uint32_t iter = (uint32_t)row.blob[1] << 24 | (uint32_t)row.blob[2] << 16 |
                    (uint32_t)row.blob[3] << 8 | row.blob[4];
    if (iter == 0 || iter > 10000000) {
        rc = certa_error_set(CERTA_ESTORE, "challenge %s: stored hash is malformed", want_ref);
        goto out;
    }
    if ((rc = derive(password, len, row.blob + 5, iter, got)) < 0)
        goto out;
    if (!certa_memeq_ct(got, row.blob + 5 + SALT_LEN, HASH_LEN)) {
        rc = certa_error_set(CERTA_EPASS, "challenge password unknown or wrong");
        goto out;
    }
    if (row.uses_left == 0 || (row.expires_at != 0 && row.expires_at <= now)) {
        rc = certa_error_set(CERTA_ESTATE, "challenge %s is used up or expired", want_ref);
        goto out;
    }
    if (row.subject_pattern != NULL && !subject_matches(row.subject_pattern, subject)) {
        rc = certa_error_set(CERTA_EPOLICY, "challenge %s is not for this subject", want_ref);
        goto out;
    }
    memcpy(ref, want_ref, sizeof(want_ref));
    if (uses_left != NULL)
        *uses_left = row.uses_left;
out:
    certa_memzero(got, sizeof(got));
    certa_secret_row_clear(&row);
    return rc;
}

int certa_challenge_consume(certa_store *s, const char *ref, int64_t now)
{
    return certa_store_secret_consume(s, CERTA_CHALLENGE_KIND, ref, now);
}
