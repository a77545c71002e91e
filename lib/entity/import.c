/* Installing certificates into a trustpoint (`crypto ca import NAME
 * certificate`): decode PEM, DER or PKCS#7 certs-only, find the certificate
 * that carries one of our public keys, check it chains to the trustpoint's
 * CA, then write chain.pem and cert.pem atomically. With as_ca, install the
 * CA certificate instead (offline `crypto ca authenticate`), pinned by the
 * configured fingerprint. Nothing is written unless every check passed. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include "certa/keystore.h"
#include "certa/trustpoint.h"
#include "enroll.h"

#define IMPORT_MAX (1024 * 1024)
#define IMPORT_MAX_CERTS 32

static int push_all(STACK_OF(X509) *dst, STACK_OF(X509) *src)
{
    for (int i = 0; src != NULL && i < sk_X509_num(src); i++) {
        X509 *x = sk_X509_value(src, i);
        if (!X509_up_ref(x) || !sk_X509_push(dst, x)) {
            X509_free(x);
            return certa_error_set(CERTA_ENOMEM, "out of memory");
        }
    }
    return 0;
}

static int from_pkcs7(PKCS7 *p7, STACK_OF(X509) *out)
{
    if (p7 == NULL || !PKCS7_type_is_signed(p7) || p7->d.sign == NULL)
        return certa_error_set(CERTA_EINVAL, "PKCS#7 input is not a certs-only SignedData");
    return push_all(out, p7->d.sign->cert);
}

/* Every certificate of the input, in order. */
static int decode_certs(const unsigned char *data, size_t len, STACK_OF(X509) *out)
{
    int rc = 0;
    if (len > 10 && memmem(data, len, "-----BEGIN", 10) != NULL) {
        BIO *mem = BIO_new_mem_buf(data, (int)len);
        if (mem == NULL)
            return certa_error_set(CERTA_ENOMEM, "out of memory");
        if (memmem(data, len, "-----BEGIN PKCS7-----", 21) != NULL) {
            PKCS7 *p7 = PEM_read_bio_PKCS7(mem, NULL, NULL, NULL);
            rc = p7 != NULL ? from_pkcs7(p7, out)
                            : certa_error_set(CERTA_EINVAL, "malformed or truncated PEM PKCS#7");
            PKCS7_free(p7);
        } else {
            X509 *x;
            while ((x = PEM_read_bio_X509(mem, NULL, NULL, NULL)) != NULL)
                if (!sk_X509_push(out, x)) {
                    X509_free(x);
                    rc = certa_error_set(CERTA_ENOMEM, "out of memory");
                    break;
                }
            /* A block that started but did not decode is an error, not EOF. */
            unsigned long e = ERR_peek_last_error();
            if (rc == 0 && e != 0 && ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
                rc = certa_error_set(CERTA_EINVAL, "malformed or truncated PEM certificate");
        }
        BIO_free(mem);
    } else {
        const unsigned char *p = data;
        X509 *x = d2i_X509(NULL, &p, (long)len);
        if (x != NULL && p == data + len) {
            if (!sk_X509_push(out, x)) {
                X509_free(x);
                rc = certa_error_set(CERTA_ENOMEM, "out of memory");
            }
        } else {
            X509_free(x);
            p = data;
            PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
            rc = p7 != NULL && p == data + len
                     ? from_pkcs7(p7, out)
                     : certa_error_set(CERTA_EINVAL, "not a certificate: PEM, DER or PKCS#7 expected "
                                                     "(malformed or truncated input)");
            PKCS7_free(p7);
        }
    }
    ERR_clear_error();
    if (rc == 0 && sk_X509_num(out) == 0)
        rc = certa_error_set(CERTA_EINVAL, "the input holds no certificate");
    if (rc == 0 && sk_X509_num(out) > IMPORT_MAX_CERTS)
        rc = certa_error_set(CERTA_ETOOBIG, "the input holds more than %d certificates", IMPORT_MAX_CERTS);
    return rc;
}

static int pem_of(STACK_OF(X509) *certs, int from, int to, certa_buf *out)
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *data = NULL;
    int rc = 0;
    if (mem == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    for (int i = from; i < to; i++)
        if (!PEM_write_bio_X509(mem, sk_X509_value(certs, i))) {
            rc = certa_error_ossl(CERTA_ECRYPTO, "cannot encode a certificate");
            goto out;
        }
    long n = BIO_get_mem_data(mem, &data);
    rc = certa_buf_append(out, data, (size_t)n);
out:
    BIO_free(mem);
    return rc;
}

static int fingerprint_matches(const X509 *x, const char *pin)
{
    char alg[8], fp[200], hex[200];
    size_t n = 0;
    const char *colon = strchr(pin, ':');
    if (colon == NULL || (size_t)(colon - pin) >= sizeof(alg))
        return 0;
    snprintf(alg, sizeof(alg), "%.*s", (int)(colon - pin), pin);
    if (certa_cert_fingerprint(x, alg, fp, sizeof(fp)) < 0)
        return 0;
    for (const char *p = fp; *p && n + 1 < sizeof(hex); p++)
        if (*p != ':')
            hex[n++] = (char)tolower((unsigned char)*p);
    hex[n] = '\0';
    return strcmp(hex, colon + 1) == 0;
}

static int import_ca(const char *state, const struct certa_trustpoint *tp, STACK_OF(X509) *certs)
{
    char path[4096];
    certa_buf pem = { 0 };
    int pick = -1, rc;
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *x = sk_X509_value(certs, i);
        if (X509_check_ca(x) == 0)
            continue;
        if (tp->fingerprint[0] ? fingerprint_matches(x, tp->fingerprint) : pick < 0)
            pick = i;
    }
    if (pick < 0)
        return tp->fingerprint[0]
                   ? certa_error_set(CERTA_EPOLICY, "no CA certificate in the input matches the trustpoint's "
                                     "fingerprint %s", tp->fingerprint)
                   : certa_error_set(CERTA_EINVAL, "the input holds no CA certificate");
    if ((rc = pem_of(certs, pick, pick + 1, &pem)) < 0)
        goto out;
    if ((rc = certa_trustpoint_path(state, tp->name, NULL, path, sizeof(path))) < 0 ||
        (rc = certa_mkdir_p(path, 0700)) < 0 ||
        (rc = certa_trustpoint_path(state, tp->name, "ca.pem", path, sizeof(path))) < 0)
        goto out;
    rc = certa_file_write_atomic(path, pem.data, pem.len, 0644);
out:
    certa_buf_free(&pem);
    return rc;
}

/* Which of certs carries the key an online enrollment holds: the CA's
 * answer. */
static int find_known_leaf(const struct certa_install_known *known, STACK_OF(X509) *certs, int *role)
{
    for (int i = 0; i < sk_X509_num(certs); i++)
        if (EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(certs, i)), known->key) == 1) {
            ERR_clear_error();
            *role = known->role;
            return i;
        }
    ERR_clear_error();
    return certa_error_set(CERTA_EPOLICY, "the CA returned a certificate for another key: none of the %d "
                           "certificates carries our public key; nothing installed", sk_X509_num(certs));
}

/* Which of certs carries a key of the trustpoint's label; *role says which. */
static int find_leaf(const char *state, const struct certa_trustpoint *tp, STACK_OF(X509) *certs,
                     const struct certa_install_known *known, int *role)
{
    if (known != NULL && known->key != NULL)
        return find_known_leaf(known, certs, role);
    static const enum certa_keystore_role roles[] = { CERTA_KEYROLE_ANY, CERTA_KEYROLE_SIGN, CERTA_KEYROLE_ENCR };
    const char *label = certa_trustpoint_key_label(tp);
    int found_key = 0;
    for (size_t r = 0; r < 3; r++) {
        EVP_PKEY *key = NULL;
        if (certa_keystore_load(state, label, roles[r], &key) < 0)
            continue;
        found_key = 1;
        for (int i = 0; i < sk_X509_num(certs); i++)
            if (EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(certs, i)), key) == 1) {
                EVP_PKEY_free(key);
                certa_error_clear();
                *role = (int)roles[r];
                return i;
            }
        EVP_PKEY_free(key);
    }
    ERR_clear_error();
    if (!found_key)
        return certa_error_set(CERTA_ENOTFOUND, "trustpoint %s has no key pair '%s' to match the certificate",
                               tp->name, label);
    return certa_error_set(CERTA_EPOLICY, "the certificate is for another key: none in the input carries the "
                           "public key of key pair '%s'", label);
}

static int check_chain(const char *state, const struct certa_trustpoint *tp, STACK_OF(X509) *certs, int leaf,
                       const struct certa_install_known *known)
{
    STACK_OF(X509) *read = NULL, *untrusted = sk_X509_new_null();
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *cas = known != NULL ? known->cas : NULL;
    int rc = 0;
    if (cas == NULL && (rc = certa_trustpoint_read_certs(state, tp->name, "ca.pem", &read)) < 0)
        goto out;
    if (cas == NULL)
        cas = read;
    if (sk_X509_num(cas) == 0)
        goto out; /* No CA installed yet: nothing to chain to. */
    if (store == NULL || ctx == NULL || untrusted == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < sk_X509_num(cas); i++)
        X509_STORE_add_cert(store, sk_X509_value(cas, i));
    for (int i = 0; i < sk_X509_num(certs); i++)
        if (i != leaf && (!X509_up_ref(sk_X509_value(certs, i)) || !sk_X509_push(untrusted, sk_X509_value(certs, i)))) {
            rc = certa_error_set(CERTA_ENOMEM, "out of memory");
            goto out;
        }
    /* The trustpoint's CA may be an intermediate: it is the anchor. */
    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
    if (!X509_STORE_CTX_init(ctx, store, sk_X509_value(certs, leaf), untrusted)) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot set up chain verification");
        goto out;
    }
    if (X509_verify_cert(ctx) != 1) {
        rc = certa_error_set(CERTA_EPOLICY, "the certificate does not chain to trustpoint %s's CA: %s", tp->name,
                             X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        goto out;
    }
out:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(untrusted, X509_free);
    sk_X509_pop_free(read, X509_free);
    return rc;
}

int certa_trustpoint_import(const char *state, const char *name, const unsigned char *data, size_t len, int as_ca)
{
    struct certa_trustpoint tp;
    STACK_OF(X509) *certs = NULL;
    int rc;
    if (len == 0)
        return certa_error_set(CERTA_EINVAL, "empty certificate input");
    if (len > IMPORT_MAX)
        return certa_error_set(CERTA_ETOOBIG, "certificate input larger than %d bytes", IMPORT_MAX);
    if ((rc = certa_trustpoint_load(state, name, &tp)) < 0)
        return rc;
    if ((certs = sk_X509_new_null()) == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    if ((rc = decode_certs(data, len, certs)) == 0)
        rc = as_ca ? import_ca(state, &tp, certs) : certa_trustpoint_install(state, &tp, certs, NULL);
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

int certa_trustpoint_install(const char *state, const struct certa_trustpoint *tp, STACK_OF(X509) *certs,
                             const struct certa_install_known *known)
{
    const char *name = tp->name;
    certa_buf leaf_pem = { 0 }, chain_pem = { 0 };
    char path[4096];
    int role = 0, rc;
    if (sk_X509_num(certs) > IMPORT_MAX_CERTS)
        return certa_error_set(CERTA_ETOOBIG, "the input holds more than %d certificates", IMPORT_MAX_CERTS);
    int leaf = find_leaf(state, tp, certs, known, &role);
    if (leaf < 0)
        return leaf;
    if ((rc = check_chain(state, tp, certs, leaf, known)) < 0)
        goto out;
    if ((rc = pem_of(certs, leaf, leaf + 1, &leaf_pem)) < 0)
        goto out;
    for (int i = 0; i < sk_X509_num(certs) && rc == 0; i++)
        if (i != leaf)
            rc = pem_of(certs, i, i + 1, &chain_pem);
    if (rc < 0)
        goto out;

    /* Everything checked: now write, chain first so cert.pem never points
     * at a missing chain. */
    if ((rc = certa_trustpoint_path(state, name, NULL, path, sizeof(path))) < 0 ||
        (rc = certa_mkdir_p(path, 0700)) < 0)
        goto out;
    const char *cert_file = role == CERTA_KEYROLE_ENCR ? "cert-encr.pem" : "cert.pem";
    const char *chain_file = role == CERTA_KEYROLE_ENCR ? "chain-encr.pem" : "chain.pem";
    if ((rc = certa_trustpoint_path(state, name, chain_file, path, sizeof(path))) < 0)
        goto out;
    if (chain_pem.len > 0)
        rc = certa_file_write_atomic(path, chain_pem.data, chain_pem.len, 0644);
    else if (unlink(path) == 0 || errno == ENOENT)
        rc = 0;
    else
        rc = certa_error_set(CERTA_EIO, "cannot remove the old %s", path);
    if (rc < 0 || (rc = certa_trustpoint_path(state, name, cert_file, path, sizeof(path))) < 0 ||
        (rc = certa_file_write_atomic(path, leaf_pem.data, leaf_pem.len, 0644)) < 0)
        goto out;
    /* The request is answered. */
    if (certa_trustpoint_path(state, name, role == CERTA_KEYROLE_ENCR ? "request-encr.pem" : "request.pem", path,
                              sizeof(path)) == 0)
        unlink(path);
out:
    certa_buf_free(&leaf_pem);
    certa_buf_free(&chain_pem);
    return rc;
}
