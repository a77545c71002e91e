/* A CA state directory: `init` (self-signed root, intermediate under another
 * certa CA, or a CSR for an external parent), `import` of the certificate an
 * external parent issued, and `open` of the directory for use. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "certa/csr.h"
#include "certa/key.h"
#include "certa/log.h"
#include "ca_internal.h"

#define CERT_MAX (64 * 1024)

static char *path_in(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, file);
    return p;
}

static int exists(const char *dir, const char *file)
{
    char *p = path_in(dir, file);
    struct stat st;
    int e = p != NULL && stat(p, &st) == 0;
    free(p);
    return e;
}

static int write_pem_certs(const char *path, X509 *first, STACK_OF(X509) *rest)
{
    BIO *b = BIO_new(BIO_s_mem());
    int rc = CERTA_ENOMEM;
    if (b == NULL)
        return certa_error_set(rc, "out of memory");
    if (first && !PEM_write_bio_X509(b, first))
        goto out;
    for (int i = 0; rest && i < sk_X509_num(rest); i++)
        if (!PEM_write_bio_X509(b, sk_X509_value(rest, i)))
            goto out;
    char *data;
    long len = BIO_get_mem_data(b, &data);
    rc = certa_file_write_atomic(path, data, (size_t)len, 0644);
out:
    if (rc == CERTA_ENOMEM)
        certa_error_ossl(rc, "encoding %s", path);
    BIO_free(b);
    return rc;
}

/* Reads every PEM certificate in a file (bounded). Missing file: empty stack
 * when optional. */
static int read_certs(const char *path, int optional, STACK_OF(X509) **out)
{
    certa_buf b = { 0 };
    *out = sk_X509_new_null();
    if (*out == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    int rc = certa_file_read(path, CERTA_CA_CHAIN_MAX, &b);
    if (rc == CERTA_ENOTFOUND && optional) {
        certa_error_clear();
        return 0;
    }
    if (rc < 0)
        goto fail;
    BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);
    X509 *x;
    while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
        sk_X509_push(*out, x);
    ERR_clear_error();
    BIO_free(bio);
    if (sk_X509_num(*out) == 0 && !optional) {
        /* Also accept a single DER certificate. */
        const unsigned char *p = b.data;
        if ((x = d2i_X509(NULL, &p, (long)b.len)) != NULL && p == b.data + b.len) {
            sk_X509_push(*out, x);
        } else {
            X509_free(x);
            rc = certa_error_ossl(CERTA_EINVAL, "%s holds no certificate (PEM or DER)", path);
            goto fail;
        }
    }
    certa_buf_free(&b);
    return 0;
fail:
    certa_buf_free(&b);
    sk_X509_pop_free(*out, X509_free);
    *out = NULL;
    return rc;
}

/* The store URI of ca.conf with a relative sqlite path made relative to DIR. */
static char *store_uri(const char *dir, const char *conf_uri)
{
    const char *uri = conf_uri ? conf_uri : "sqlite:ca.db";
    const char *path = strncmp(uri, "sqlite:", 7) == 0 ? uri + 7 : strstr(uri, "://") ? NULL : uri;
    if (path == NULL || path[0] == '/')
        return strdup(uri);
    size_t n = strlen(dir) + strlen(path) + 10;
    char *s = malloc(n);
    if (s != NULL)
        snprintf(s, n, "sqlite:%s/%s", dir, path);
    return s;
}

static X509_EXTENSION *aki_from(X509 *issuer)
{
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(issuer);
    ASN1_OCTET_STRING *own = NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (ski == NULL) {
        if (!X509_pubkey_digest(issuer, EVP_sha1(), md, &mdlen) || (own = ASN1_OCTET_STRING_new()) == NULL ||
            !ASN1_OCTET_STRING_set(own, md, (int)mdlen)) {
            ASN1_OCTET_STRING_free(own);
            return NULL;
        }
        ski = own;
    }
    AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
    X509_EXTENSION *ext = NULL;
    if (aki != NULL && (aki->keyid = ASN1_OCTET_STRING_dup(ski)) != NULL)
        ext = X509V3_EXT_i2d(NID_authority_key_identifier, 0, aki);
    AUTHORITY_KEYID_free(aki);
    ASN1_OCTET_STRING_free(own);
    return ext;
}

/* CA extensions: basicConstraints CA:TRUE critical, keyCertSign + cRLSign
 * (+ digitalSignature for OCSP/SCEP signing), SKI, AKI. */
static int add_ca_extensions(X509 *x, X509 *issuer, int path_len)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    char bc[64];
    if (path_len >= 0)
        snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", path_len);
    else
        snprintf(bc, sizeof(bc), "critical,CA:TRUE");
    const char *const exts[][2] = {
        { "basicConstraints", bc },
        { "keyUsage", "critical,digitalSignature,keyCertSign,cRLSign" },
        { "subjectKeyIdentifier", "hash" },
    };
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &ctx, exts[i][0], exts[i][1]);
        int ok = e != NULL && X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        if (!ok)
            return 0;
    }
    X509_EXTENSION *aki = aki_from(issuer ? issuer : x);
    int ok = aki != NULL && X509_add_ext(x, aki, -1);
    X509_EXTENSION_free(aki);
    return ok;
}

static const EVP_MD *ca_md(EVP_PKEY *signer)
{
    int id = EVP_PKEY_get_base_id(signer);
    if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448)
        return NULL;
    if (EVP_PKEY_get_bits(signer) >= 384 && id == EVP_PKEY_EC)
        return EVP_sha384();
    return EVP_sha256();
}

static int build_ca_cert(const struct certa_ca_init_params *p, EVP_PKEY *key, X509_NAME *subject,
                         certa_ca *parent, X509 **out)
{
    X509 *x = X509_new();
    ASN1_INTEGER *sn = NULL;
    char hex[CERTA_SERIAL_HEX_MAX];
    int rc = certa_serial_random(&sn, hex);
    if (rc < 0 || x == NULL)
        goto out;
    rc = CERTA_ECRYPTO;
    int days = p->days > 0 ? p->days : 3650;
    X509 *issuer = parent ? parent->cert : NULL;
    EVP_PKEY *signer = parent ? parent->key : key;
    time_t now = time(NULL);
    /* An intermediate never outlives its parent (its chain would break). */
    if (!X509_set_version(x, X509_VERSION_3) || !X509_set_serialNumber(x, sn) ||
        !X509_set_subject_name(x, subject) ||
        !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject) ||
        !ASN1_TIME_set(X509_getm_notBefore(x), now - 300) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &now) || !X509_set_pubkey(x, key) ||
        !add_ca_extensions(x, issuer, p->path_len) ||
        (issuer != NULL && ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(issuer)) > 0 &&
         !X509_set1_notAfter(x, X509_get0_notAfter(issuer))) ||
        X509_sign(x, signer, ca_md(signer)) <= 0) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "building the CA certificate");
        goto out;
    }
    *out = x;
    x = NULL;
    rc = 0;
out:
    X509_free(x);
    ASN1_INTEGER_free(sn);
    return rc;
}

/* Writes ca.conf and creates the store (empty, migrated). */
static int write_conf_and_store(const char *dir)
{
    certa_buf conf = { 0 };
    char *name = NULL, *path = NULL, *uri = NULL;
    certa_store *st = NULL;
    const char *base = strrchr(dir, '/');
    base = base && base[1] ? base + 1 : dir;
    if ((name = strdup(base)) == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    for (char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
            *c = '-';
    int rc = certa_conf_default(name, &conf);
    if (rc == 0 && (path = path_in(dir, "ca.conf")) == NULL)
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
    if (rc == 0)
        rc = certa_file_write_atomic(path, conf.data, conf.len, 0644);
    if (rc == 0 && (uri = store_uri(dir, "sqlite:ca.db")) == NULL)
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
    if (rc == 0)
        rc = certa_store_open(uri, CERTA_STORE_CREATE, &st);
    certa_store_close(st);
    certa_buf_free(&conf);
    free(name);
    free(path);
    free(uri);
    return rc;
}

int certa_ca_init(const struct certa_ca_init_params *p)
{
    EVP_PKEY *key = NULL;
    X509_NAME *subject = NULL;
    X509 *cert = NULL;
    X509_REQ *csr = NULL;
    certa_ca *parent = NULL;
    char *path = NULL;
    int rc;
    if (p->dir == NULL || p->subject == NULL)
        return certa_error_set(CERTA_EINVAL, "a CA needs a directory and a subject");
    if (p->parent_dir && p->external)
        return certa_error_set(CERTA_EINVAL, "choose either a certa parent or an external parent");
    if (p->days < 0 || p->days > 36500)
        return certa_error_set(CERTA_EINVAL, "CA validity of %d days is out of range (1..36500)", p->days);
    if (exists(p->dir, "ca.key") || exists(p->dir, "ca.crt") || exists(p->dir, "ca.conf"))
        return certa_error_set(CERTA_EEXIST, "%s already holds a CA; choose an empty directory", p->dir);
    if ((rc = certa_name_parse(p->subject, &subject)) < 0)
        return rc;
    if (p->parent_dir && (rc = certa_ca_open(p->parent_dir, p->parent_passphrase, 0, &parent)) < 0)
        goto out;
    if ((rc = certa_key_generate(p->key_spec ? p->key_spec : "ec:p256", &key)) < 0)
        goto out;
    if ((rc = certa_mkdir_p(p->dir, 0700)) < 0)
        goto out;

    if (p->external) {
        struct certa_csr_params cp = { .subject = p->subject };
        if ((rc = certa_csr_create(key, &cp, &csr)) < 0)
            goto out;
    } else if ((rc = build_ca_cert(p, key, subject, parent, &cert)) < 0) {
        goto out;
    }
    /* The parent records the intermediate before anyone can use it. */
    if (parent && (rc = certa_ca_record_cert(parent, cert, "ca", 0)) < 0)
        goto out;
    if ((path = path_in(p->dir, "ca.key")) == NULL || (rc = certa_key_save(key, path, CERTA_FORMAT_PEM, p->passphrase)) < 0) {
        rc = path ? rc : CERTA_ENOMEM;
        goto out;
    }
    free(path);
    path = path_in(p->dir, p->external ? "ca.csr" : "ca.crt");
    if (p->external)
        rc = certa_csr_write(csr, path, 0);
    else
        rc = write_pem_certs(path, cert, NULL);
    if (rc < 0)
        goto out;
    if (parent) {
        STACK_OF(X509) *up = sk_X509_new_null();
        free(path);
        path = path_in(p->dir, "chain.pem");
        rc = up ? write_pem_certs(path, parent->cert, parent->chain) : CERTA_ENOMEM;
        sk_X509_free(up);
        if (rc < 0)
            goto out;
    }
    rc = write_conf_and_store(p->dir);
out:
    free(path);
    EVP_PKEY_free(key);
    X509_NAME_free(subject);
    X509_free(cert);
    X509_REQ_free(csr);
    certa_ca_free(parent);
    return rc;
}

int certa_ca_import_cert(const char *dir, const char *cert_path, const char *chain_path)
{
    STACK_OF(X509) *certs = NULL, *chain = NULL;
    EVP_PKEY *key = NULL;
    char *path = NULL;
    int rc;
    if (!exists(dir, "ca.csr"))
        return certa_error_set(CERTA_ESTATE, "%s is not waiting for a certificate (no ca.csr; "
                               "create it with certa ca init --external)", dir);
    if ((rc = read_certs(cert_path, 0, &certs)) < 0)
        return rc;
    if (chain_path && (rc = read_certs(chain_path, 0, &chain)) < 0)
        goto out;
    X509 *x = sk_X509_value(certs, 0);
    /* The key is only needed to compare public halves: read the CSR's. */
    certa_buf csrbuf = { 0 };
    X509_REQ *csr = NULL;
    if ((path = path_in(dir, "ca.csr")) == NULL)
        rc = CERTA_ENOMEM;
    else if ((rc = certa_file_read(path, CERT_MAX, &csrbuf)) == 0)
        rc = certa_csr_parse(csrbuf.data, csrbuf.len, &csr);
    certa_buf_free(&csrbuf);
    if (rc < 0)
        goto out;
    int same = EVP_PKEY_eq(X509_REQ_get0_pubkey(csr), X509_get0_pubkey(x)) == 1;
    X509_REQ_free(csr);
    if (!same) {
        rc = certa_error_set(CERTA_EINVAL, "%s does not match the key of %s/ca.key", cert_path, dir);
        goto out;
    }
    if (X509_check_ca(x) < 1 || (X509_get_key_usage(x) & KU_KEY_CERT_SIGN) == 0) {
        rc = certa_error_set(CERTA_EPOLICY, "%s is not a CA certificate (needs basicConstraints CA:TRUE "
                             "and keyCertSign)", cert_path);
        goto out;
    }
    /* Further certificates in the same file are taken as the chain. */
    if (chain == NULL && sk_X509_num(certs) > 1) {
        chain = sk_X509_new_null();
        for (int i = 1; chain && i < sk_X509_num(certs); i++)
            sk_X509_push(chain, X509_dup(sk_X509_value(certs, i)));
    }
    free(path);
    path = path_in(dir, "chain.pem");
    if (chain && sk_X509_num(chain) > 0 && (rc = write_pem_certs(path, NULL, chain)) < 0)
        goto out;
    free(path);
    path = path_in(dir, "ca.crt");
    if ((rc = write_pem_certs(path, x, NULL)) < 0)
        goto out;
    free(path);
    path = path_in(dir, "ca.csr");
    unlink(path);
out:
    free(path);
    EVP_PKEY_free(key);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

int certa_ca_open(const char *dir, const char *passphrase, int flags, certa_ca **out)
{
    certa_ca *ca = calloc(1, sizeof(*ca));
    certa_buf buf = { 0 };
    char *path = NULL, *uri = NULL;
    STACK_OF(X509) *certs = NULL;
    int rc = CERTA_ENOMEM;
    *out = NULL;
    if (ca == NULL || (ca->dir = strdup(dir)) == NULL)
        goto nomem;
    ca->flags = flags;
    if ((path = path_in(dir, "ca.conf")) == NULL)
        goto nomem;
    if ((rc = certa_file_read(path, CERTA_CA_CONF_MAX, &buf)) < 0) {
        if (rc == CERTA_ENOTFOUND)
            certa_error_set(rc, "%s is not a CA directory (no ca.conf); create one with certa ca init", dir);
        goto out;
    }
    if ((rc = certa_conf_parse((const char *)buf.data, path, &ca->conf)) < 0)
        goto out;
    const char *name = certa_conf_get(&ca->conf, "ca", "name");
    if ((ca->name = strdup(name ? name : "ca")) == NULL)
        goto nomem;

    free(path);
    if ((path = path_in(dir, "ca.crt")) == NULL)
        goto nomem;
    if (exists(dir, "ca.csr") && !exists(dir, "ca.crt")) {
        rc = certa_error_set(CERTA_ESTATE, "%s waits for its certificate from the external parent: "
                             "run certa ca init --dir %s --import-cert FILE", dir, dir);
        goto out;
    }
    if ((rc = read_certs(path, 0, &certs)) < 0)
        goto out;
    ca->cert = sk_X509_shift(certs);
    free(path);
    if ((path = path_in(dir, "chain.pem")) == NULL)
        goto nomem;
    if ((rc = read_certs(path, 1, &ca->chain)) < 0)
        goto out;

    if (!(flags & (CERTA_CA_READONLY | CERTA_CA_NOKEY))) {
        free(path);
        if ((path = path_in(dir, "ca.key")) == NULL)
            goto nomem;
        const char *pw = passphrase ? passphrase : getenv("CERTA_CA_PASSPHRASE");
        if ((rc = certa_key_load(path, pw, &ca->key)) < 0) {
            if (rc == CERTA_EPASS) {
                char msg[400];
                snprintf(msg, sizeof(msg), "%s", certa_error_last());
                certa_error_set(rc, "%s (or set CERTA_CA_PASSPHRASE)", msg);
            }
            goto out;
        }
        if (X509_check_private_key(ca->cert, ca->key) != 1) {
            rc = certa_error_ossl(CERTA_ECRYPTO, "%s/ca.key does not match %s/ca.crt", dir, dir);
            goto out;
        }
    }
    if ((ca->aki_ext = aki_from(ca->cert)) == NULL) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "encoding the authority key identifier");
        goto out;
    }
    if ((rc = certa_profiles_load(ca)) < 0)
        goto out;
    if ((uri = store_uri(dir, certa_conf_get(&ca->conf, "ca", "store"))) == NULL)
        goto nomem;
    if ((rc = certa_store_open(uri, (flags & CERTA_CA_READONLY) ? CERTA_STORE_READONLY : 0, &ca->store)) < 0) {
        if (rc == CERTA_ENOTFOUND) {
            char msg[400];
            snprintf(msg, sizeof(msg), "%s", certa_error_last());
            certa_error_set(rc, "the CA database is missing (%s)", msg);
        }
        goto out;
    }
    *out = ca;
    ca = NULL;
    rc = 0;
    goto out;
nomem:
    rc = certa_error_set(CERTA_ENOMEM, "out of memory opening %s", dir);
out:
    certa_buf_free(&buf);
    free(path);
    free(uri);
    sk_X509_pop_free(certs, X509_free);
    certa_ca_free(ca);
    return rc;
}

void certa_ca_free(certa_ca *ca)
{
    if (ca == NULL)
        return;
    certa_store_close(ca->store);
    certa_profiles_free(ca);
    X509_EXTENSION_free(ca->aki_ext);
    EVP_MD_CTX_free(ca->sign_ctx);
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    sk_X509_pop_free(ca->chain, X509_free);
    certa_conf_clear(&ca->conf);
    free(ca->name);
    free(ca->dir);
    free(ca);
}

X509 *certa_ca_cert(const certa_ca *ca) { return ca->cert; }
STACK_OF(X509) *certa_ca_chain(const certa_ca *ca) { return ca->chain; }
EVP_PKEY *certa_ca_key(const certa_ca *ca) { return ca->key; }
certa_store *certa_ca_store(const certa_ca *ca) { return ca->store; }
const char *certa_ca_dir(const certa_ca *ca) { return ca->dir; }
const char *certa_ca_name(const certa_ca *ca) { return ca->name; }

const char *certa_ca_setting(const certa_ca *ca, const char *section, const char *key)
{
    return certa_conf_get(&ca->conf, section, key);
}
