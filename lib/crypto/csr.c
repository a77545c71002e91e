/* PKCS#10 requests: building and signing one from a key and parameters
 * (subject, SANs and EKU as an extensionRequest, challengePassword), and
 * parsing one from PEM or DER with its self-signature checked. */
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "certa/csr.h"
#include "certa/key.h"
#include "csr_internal.h"

/* A CSR with a large RSA key and many SANs stays far below this. */
#define CSR_MAX (64 * 1024)
#define SAN_MAX_COUNT 256
#define CHALLENGE_MAX 255

static int add_extensions(X509_REQ *req, const struct certa_csr_params *p)
{
    int rc = 0;
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    GENERAL_NAMES *gens = NULL;
    EXTENDED_KEY_USAGE *eku = NULL;
    X509_EXTENSION *ext = NULL;
    if (exts == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");

    if (p->san_count > 0) {
        if (p->san_count > SAN_MAX_COUNT) {
            rc = certa_error_set(CERTA_EINVAL, "too many subject alternative names (at most %d)", SAN_MAX_COUNT);
            goto out;
        }
        if ((gens = GENERAL_NAMES_new()) == NULL) {
            rc = certa_error_set(CERTA_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < p->san_count; i++) {
            GENERAL_NAME *gn = NULL;
            if ((rc = certa_san_parse(p->sans[i], &gn)) < 0)
                goto out;
            if (!sk_GENERAL_NAME_push(gens, gn)) {
                GENERAL_NAME_free(gn);
                rc = certa_error_set(CERTA_ENOMEM, "out of memory");
                goto out;
            }
        }
        ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
        if (ext == NULL || !sk_X509_EXTENSION_push(exts, ext)) {
            rc = certa_error_ossl(CERTA_ECRYPTO, "cannot encode subjectAltName");
            goto out;
        }
        ext = NULL;
    }

    if (p->usages != 0) {
        static const struct { unsigned flag; int nid; } map[] = {
            { CERTA_USAGE_IKE, NID_ipsec_IKE },
            { CERTA_USAGE_SSL_CLIENT, NID_client_auth },
            { CERTA_USAGE_SSL_SERVER, NID_server_auth },
        };
        if ((eku = EXTENDED_KEY_USAGE_new()) == NULL) {
            rc = certa_error_set(CERTA_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
            if ((p->usages & map[i].flag) && !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(map[i].nid))) {
                rc = certa_error_set(CERTA_ENOMEM, "out of memory");
                goto out;
            }
        ext = X509V3_EXT_i2d(NID_ext_key_usage, 0, eku);
        if (ext == NULL || !sk_X509_EXTENSION_push(exts, ext)) {
            rc = certa_error_ossl(CERTA_ECRYPTO, "cannot encode extendedKeyUsage");
            goto out;
        }
        ext = NULL;
    }

    if (sk_X509_EXTENSION_num(exts) > 0 && !X509_REQ_add_extensions(req, exts))
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot add the extension request");
out:
    X509_EXTENSION_free(ext);
    /* OBJ_nid2obj returns static objects; freeing them is a no-op. */
    EXTENDED_KEY_USAGE_free(eku);
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return rc;
}

/* The signature digest: none for Ed25519 (it hashes internally). */
static int pick_digest(EVP_PKEY *key, const char *name, int legacy, const EVP_MD **md)
{
    *md = NULL;
    if (name == NULL || *name == '\0')
        name = "sha256";
    int weak = strcmp(name, "sha1") == 0 || strcmp(name, "md5") == 0;
    if (weak && !legacy)
        return certa_error_set(CERTA_EUNSUPPORTED, "CSR digest '%s' is a legacy algorithm: allowed only when legacy "
                               "algorithms are enabled", name);
    if (!weak && strcmp(name, "sha256") != 0 && strcmp(name, "sha384") != 0 && strcmp(name, "sha512") != 0)
        return certa_error_set(CERTA_EUNSUPPORTED, "unsupported CSR digest '%s' (use sha256, sha384 or sha512)", name);
    if (EVP_PKEY_is_a(key, "ED25519"))
        return 0;
    *md = EVP_get_digestbyname(name);
    if (*md == NULL)
        return certa_error_ossl(CERTA_EUNSUPPORTED, "digest %s is not available", name);
    return 0;
}

int certa_csr_create(EVP_PKEY *key, const struct certa_csr_params *p, X509_REQ **out)
{
    int rc = 0;
    const EVP_MD *md = NULL;
    X509_NAME *name = NULL;
    *out = NULL;
    if (key == NULL || p == NULL)
        return certa_error_set(CERTA_EINVAL, "CSR needs a key and parameters");
    if ((rc = certa_key_check_strength(key)) < 0)
        return rc;
    if ((rc = pick_digest(key, p->digest, p->legacy, &md)) < 0)
        return rc;
    if (p->challenge != NULL && (strlen(p->challenge) == 0 || strlen(p->challenge) > CHALLENGE_MAX))
        return certa_error_set(CERTA_EINVAL, "challenge password must have 1 to %d characters", CHALLENGE_MAX);
    if ((rc = certa_name_parse(p->subject, &name)) < 0)
        return rc;

    X509_REQ *req = X509_REQ_new();
    if (req == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) || !X509_REQ_set_subject_name(req, name) ||
        !X509_REQ_set_pubkey(req, key)) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot fill the request");
        goto out;
    }
    if ((rc = add_extensions(req, p)) < 0)
        goto out;
    if (p->challenge != NULL &&
        !X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword, MBSTRING_UTF8,
                                   (const unsigned char *)p->challenge, -1)) {
        rc = certa_error_ossl(CERTA_EINVAL, "cannot add the challenge password");
        goto out;
    }
    if (X509_REQ_sign(req, key, md) <= 0) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot sign the request");
        goto out;
    }
    *out = req;
    req = NULL;
out:
    X509_REQ_free(req);
    X509_NAME_free(name);
    return rc;
}

int certa_csr_parse(const unsigned char *data, size_t len, X509_REQ **out)
{
    int rc = 0;
    X509_REQ *req = NULL;
    EVP_PKEY *pub = NULL;
    *out = NULL;
    if (data == NULL || len == 0)
        return certa_error_set(CERTA_EINVAL, "empty certificate request");
    if (len > CSR_MAX)
        return certa_error_set(CERTA_ETOOBIG, "certificate request larger than %d bytes", CSR_MAX);
    if (len > 10 && memcmp(data, "-----BEGIN", 10) == 0) {
        BIO *mem = BIO_new_mem_buf(data, (int)len);
        if (mem == NULL)
            return certa_error_set(CERTA_ENOMEM, "out of memory");
        /* Accepts both "CERTIFICATE REQUEST" and "NEW CERTIFICATE REQUEST". */
        req = PEM_read_bio_X509_REQ(mem, NULL, NULL, NULL);
        BIO_free(mem);
    } else {
        const unsigned char *p = data;
        req = d2i_X509_REQ(NULL, &p, (long)len);
        if (req != NULL && p != data + len) {
            X509_REQ_free(req);
            req = NULL;
        }
    }
    if (req == NULL) {
        ERR_clear_error();
        return certa_error_set(CERTA_EINVAL, "malformed or truncated certificate request (PKCS#10 PEM or DER expected)");
    }
    pub = X509_REQ_get_pubkey(req);
    if (pub == NULL) {
        rc = certa_error_ossl(CERTA_EINVAL, "certificate request has an unreadable public key");
        goto out;
    }
    if (X509_REQ_verify(req, pub) != 1) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "certificate request signature does not verify");
        goto out;
    }
    *out = req;
    req = NULL;
out:
    EVP_PKEY_free(pub);
    X509_REQ_free(req);
    return rc;
}

char *certa_csr_challenge_attr(const X509_ATTRIBUTE *attr)
{
    ASN1_TYPE *t = attr != NULL ? X509_ATTRIBUTE_get0_type((X509_ATTRIBUTE *)attr, 0) : NULL;
    if (t == NULL)
        return NULL;
    if (t->type != V_ASN1_PRINTABLESTRING && t->type != V_ASN1_UTF8STRING && t->type != V_ASN1_IA5STRING &&
        t->type != V_ASN1_T61STRING && t->type != V_ASN1_BMPSTRING && t->type != V_ASN1_UNIVERSALSTRING)
        return NULL;
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, t->value.asn1_string);
    if (n < 0)
        return NULL;
    /* ASN1_STRING_to_UTF8 NUL-terminates; reject embedded NULs. */
    if ((int)strlen((char *)utf8) != n) {
        OPENSSL_free(utf8);
        return NULL;
    }
    return (char *)utf8;
}

char *certa_csr_challenge(const X509_REQ *req)
{
    int idx = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1);
    return idx < 0 ? NULL : certa_csr_challenge_attr(X509_REQ_get_attr(req, idx));
}

int certa_csr_write(const X509_REQ *req, const char *path, int der)
{
    BIO *mem = BIO_new(BIO_s_mem());
    int rc = 0;
    if (mem == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    if (!(der ? i2d_X509_REQ_bio(mem, req) : PEM_write_bio_X509_REQ(mem, req))) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot encode the request");
        goto out;
    }
    char *data = NULL;
    long len = BIO_get_mem_data(mem, &data);
    rc = certa_file_write_atomic(path, data, (size_t)len, 0644);
out:
    BIO_free(mem);
    return rc;
}
