/* Private-key files: PKCS#8 PEM or DER, optionally AES-256 encrypted, written
 * atomically with mode 0600; loading any PEM/DER private-key form; and
 * zeroization (overwrite, fsync, unlink). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include "certa/key.h"

/* A private key file is a few KiB at most; anything bigger is not one. */
#define KEY_FILE_MAX (64 * 1024)

int certa_key_save(const EVP_PKEY *key, const char *path, certa_format fmt, const char *passphrase)
{
    int rc = 0;
    BIO *mem = BIO_new(BIO_s_mem());
    const EVP_CIPHER *cipher = passphrase != NULL ? EVP_aes_256_cbc() : NULL;
    int plen = passphrase != NULL ? (int)strlen(passphrase) : 0;
    int ok;
    if (mem == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    if (passphrase != NULL && plen == 0) {
        rc = certa_error_set(CERTA_EINVAL, "empty passphrase for %s", path);
        goto out;
    }
    /* Both writers produce PKCS#8 (PBES2, PBKDF2, AES-256-CBC when encrypted). */
    if (fmt == CERTA_FORMAT_DER)
        ok = i2d_PKCS8PrivateKey_bio(mem, key, cipher, (const char *)passphrase, plen, NULL, NULL);
    else
        ok = PEM_write_bio_PKCS8PrivateKey(mem, key, cipher, (const char *)passphrase, plen, NULL, NULL);
    if (!ok) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot encode private key for %s", path);
        goto out;
    }
    char *data = NULL;
    long len = BIO_get_mem_data(mem, &data);
    rc = certa_file_write_atomic(path, data, (size_t)len, 0600);
    certa_memzero(data, (size_t)len);
out:
    BIO_free(mem);
    return rc;
}

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    const char *pass = u;
    if (pass == NULL)
        return -1;
    size_t n = strlen(pass);
    if (n > (size_t)size)
        return -1;
    memcpy(buf, pass, n);
    return (int)n;
}

/* Is this an encrypted private key (PKCS#8 EncryptedPrivateKeyInfo or a
 * traditional PEM with a DEK-Info header)? Decides EPASS versus EINVAL. */
static int looks_encrypted(const unsigned char *data, size_t len)
{
    if (len > 10 && memcmp(data, "-----BEGIN", 10) == 0) {
        return memmem(data, len, "ENCRYPTED PRIVATE KEY", 21) != NULL ||
               memmem(data, len, "Proc-Type: 4,ENCRYPTED", 22) != NULL;
    }
    const unsigned char *p = data;
    X509_SIG *sig = d2i_X509_SIG(NULL, &p, (long)len);
    int enc = sig != NULL;
    X509_SIG_free(sig);
    return enc;
}

/* An unencrypted PKCS#8 key (what certa writes) straight to its decoder.
 * Unnarrowed, OpenSSL 3.0 tries every decoder it has to build a chain: about
 * 0.7 ms a key, and 2.4 ms for the first. Told the input is DER
 * PrivateKeyInfo of the key type its algorithm OID names, it takes a
 * quarter of that. NULL for anything else, which the general path takes. */
static EVP_PKEY *load_plain_pkcs8(const unsigned char *data, size_t len)
{
    unsigned char *pem_der = NULL;
    const unsigned char *der = data;
    long der_len = (long)len;
    char *name = NULL, *header = NULL;
    char oid[64];
    EVP_PKEY *key = NULL;
    if (len > 10 && memcmp(data, "-----BEGIN", 10) == 0) {
        BIO *mem = BIO_new_mem_buf(data, (int)len);
        int ok = mem != NULL && PEM_read_bio(mem, &name, &header, &pem_der, &der_len) &&
                 strcmp(name, PEM_STRING_PKCS8INF) == 0;
        BIO_free(mem);
        if (!ok)
            goto out;
        der = pem_der;
    }
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, der_len);
    const ASN1_OBJECT *alg = NULL;
    int named = p8 != NULL && p == der + der_len && PKCS8_pkey_get0(&alg, NULL, NULL, NULL, p8) &&
                OBJ_obj2txt(oid, sizeof(oid), alg, 1) > 0;
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (!named)
        goto out;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&key, "DER", "PrivateKeyInfo", oid,
                                                           OSSL_KEYMGMT_SELECT_PRIVATE_KEY, NULL, NULL);
    size_t left = (size_t)der_len;
    p = der;
    if (dctx == NULL || !OSSL_DECODER_from_data(dctx, &p, &left)) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
out:
    ERR_clear_error();
    if (pem_der != NULL)
        OPENSSL_clear_free(pem_der, (size_t)der_len);
    OPENSSL_free(name);
    OPENSSL_free(header);
    return key;
}

int certa_key_load_mem(const unsigned char *data, size_t len, const char *passphrase, EVP_PKEY **out)
{
    int rc = 0;
    EVP_PKEY *key = NULL;
    *out = NULL;
    if (len == 0)
        return certa_error_set(CERTA_EINVAL, "empty key data");
    if (len > KEY_FILE_MAX)
        return certa_error_set(CERTA_ETOOBIG, "key data larger than %d bytes", KEY_FILE_MAX);
    if ((*out = load_plain_pkcs8(data, len)) != NULL)
        return 0;
    /* Selecting the private key only: a public key alone is not a key file. */
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&key, NULL, NULL, NULL,
                                                           OSSL_KEYMGMT_SELECT_PRIVATE_KEY, NULL, NULL);
    if (dctx == NULL)
        return certa_error_ossl(CERTA_ECRYPTO, "cannot set up key decoder");
    /* A callback (not a fixed passphrase) so that a missing passphrase
     * fails instead of prompting on the terminal. */
    OSSL_DECODER_CTX_set_pem_password_cb(dctx, pass_cb, (void *)passphrase);
    const unsigned char *p = data;
    size_t left = len;
    if (!OSSL_DECODER_from_data(dctx, &p, &left) || key == NULL) {
        ERR_clear_error();
        if (looks_encrypted(data, len))
            rc = certa_error_set(CERTA_EPASS, passphrase == NULL
                                 ? "the key is encrypted: give its passphrase (--passphrase-file)"
                                 : "wrong passphrase for the encrypted key");
        else
            rc = certa_error_set(CERTA_EINVAL, "not a PEM or DER private key (malformed or truncated)");
        goto out;
    }
    *out = key;
    key = NULL;
out:
    EVP_PKEY_free(key);
    OSSL_DECODER_CTX_free(dctx);
    return rc;
}

int certa_key_load(const char *path, const char *passphrase, EVP_PKEY **out)
{
    certa_buf b = { 0 };
    *out = NULL;
    int rc = certa_file_read(path, KEY_FILE_MAX, &b);
    if (rc == 0) {
        rc = certa_key_load_mem(b.data, b.len, passphrase, out);
        if (rc < 0) {
            char why[256];
            snprintf(why, sizeof(why), "%s", certa_error_last());
            certa_error_set(rc, "%s: %s", path, why);
        }
    }
    certa_buf_free_secure(&b);
    return rc;
}

static int overwrite(int fd, off_t size, int random)
{
    unsigned char block[4096];
    if (lseek(fd, 0, SEEK_SET) < 0)
        return -1;
    memset(block, 0, sizeof(block));
    for (off_t done = 0; done < size;) {
        size_t n = size - done > (off_t)sizeof(block) ? sizeof(block) : (size_t)(size - done);
        if (random && RAND_bytes(block, (int)n) != 1)
            return -1;
        ssize_t w = write(fd, block, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        done += w;
    }
    return fsync(fd);
}

int certa_key_zeroize_file(const char *path)
{
    struct stat st;
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return certa_error_set(errno == ENOENT ? CERTA_ENOTFOUND : CERTA_EIO,
                               "cannot open %s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return certa_error_set(CERTA_EINVAL, "%s is not a regular file", path);
    }
    /* Random first, then zeros: no key bytes survive in the file's blocks
     * on a plain file system (flash wear levelling is beyond our reach). */
    if (overwrite(fd, st.st_size, 1) < 0 || overwrite(fd, st.st_size, 0) < 0) {
        int e = errno;
        close(fd);
        return certa_error_set(CERTA_EIO, "cannot overwrite %s: %s", path, strerror(e));
    }
    close(fd);
    if (unlink(path) < 0)
        return certa_error_set(CERTA_EIO, "cannot remove %s: %s", path, strerror(errno));
    return 0;
}
