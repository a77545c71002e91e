/* Shared set-up of the harnesses, see fuzz_common.h. Everything made here
 * lives for the whole process; the scratch directory goes at exit. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include "certa/csr.h"
#include "certa/error.h"
#include "certa/log.h"
#include "fuzz_common.h"

static char tmp[512];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

static void rm_tmp(void)
{
    if (tmp[0])
        nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_tmpdir(void)
{
    if (tmp[0] == '\0') {
        const char *base = getenv("TMPDIR");
        snprintf(tmp, sizeof(tmp), "%s/certa-fuzz-XXXXXX", base && *base ? base : "/tmp");
        if (mkdtemp(tmp) == NULL) {
            perror("mkdtemp");
            abort();
        }
        atexit(rm_tmp);
    }
    return tmp;
}

/* Lines are still formatted (that code runs too), then dropped. */
static void drop_line(int level, const char *line, void *arg)
{
    (void)level; (void)line; (void)arg;
}

void fuzz_quiet(void)
{
    certa_log_set_level(CERTA_LOG_INFO);
    if (getenv("FUZZ_VERBOSE") == NULL)
        certa_log_set_sink(drop_line, NULL);
}

certa_ca *fuzz_ca(const char *name, const char *key_spec, const char *extra_conf)
{
    char dir[1024], cn[128];
    certa_ca *ca = NULL;
    snprintf(dir, sizeof(dir), "%s/%s", fuzz_tmpdir(), name);
    snprintf(cn, sizeof(cn), "CN=Fuzz %s CA", name);
    struct certa_ca_init_params p = { .dir = dir, .subject = cn, .key_spec = key_spec, .path_len = -1 };
    if (certa_ca_init(&p) < 0)
        goto fail;
    if (extra_conf) {
        char conf[1100];
        snprintf(conf, sizeof(conf), "%s/ca.conf", dir);
        FILE *f = fopen(conf, "a");
        if (f == NULL || fputs(extra_conf, f) < 0 || fclose(f) != 0)
            goto fail;
    }
    if (certa_ca_open(dir, NULL, 0, &ca) < 0)
        goto fail;
    return ca;
fail:
    fprintf(stderr, "fuzz: CA %s: %s\n", name, certa_error_last());
    abort();
}

EVP_PKEY *fuzz_rsa_key(void)
{
    static EVP_PKEY *k;
    if (k == NULL && (k = EVP_RSA_gen(2048)) == NULL)
        abort();
    return k;
}

EVP_PKEY *fuzz_ec_key(void)
{
    static EVP_PKEY *k;
    if (k == NULL && (k = EVP_EC_gen("P-256")) == NULL)
        abort();
    return k;
}

X509 *fuzz_self_signed(EVP_PKEY *key, const char *cn)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    if (x == NULL || n == NULL ||
        !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
        !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) || !X509_set_version(x, 2) ||
        !X509_set_subject_name(x, n) || !X509_set_issuer_name(x, n) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -60) || !X509_gmtime_adj(X509_getm_notAfter(x), 3600) ||
        !X509_set_pubkey(x, key) || X509_sign(x, key, EVP_sha256()) <= 0)
        abort();
    X509_NAME_free(n);
    return x;
}

unsigned fuzz_u8(struct fuzz_in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

size_t fuzz_str(struct fuzz_in *in, char *out, size_t max)
{
    size_t len = fuzz_u8(in);
    if (len > max)
        len = max;
    if (len > in->n)
        len = in->n;
    memcpy(out, in->p, len);
    out[len] = '\0';
    in->p += len;
    in->n -= len;
    return len;
}

X509 *fuzz_issue(certa_ca *ca, EVP_PKEY *key, const char *cn)
{
    char subject[128];
    X509_REQ *csr = NULL;
    struct certa_csr_request cr = { 0 };
    struct certa_issue_result res = { 0 };
    snprintf(subject, sizeof(subject), "CN=%s", cn);
    struct certa_csr_params p = { .subject = subject };
    if (certa_csr_create(key, &p, &csr) < 0 || certa_request_from_csr(csr, &cr) < 0)
        goto fail;
    cr.req.protocol = "cli";
    cr.req.requester = "operator";
    cr.req.preapproved = 1;
    if (certa_ca_submit(ca, &cr.req, &res) < 0 || res.decision != CERTA_DECISION_ISSUED)
        goto fail;
    /* Through DER: the pipeline's certificate carries its key as bits only
     * (X509_get0_pubkey gives NULL), and the harnesses sign with it. */
    unsigned char *der = NULL;
    int n = i2d_X509(res.cert, &der);
    const unsigned char *dp = der;
    X509 *x = n > 0 ? d2i_X509(NULL, &dp, n) : NULL;
    OPENSSL_free(der);
    if (x == NULL || X509_get0_pubkey(x) == NULL)
        goto fail;
    certa_issue_result_clear(&res);
    certa_csr_request_clear(&cr);
    X509_REQ_free(csr);
    return x;
fail:
    fprintf(stderr, "fuzz: issuing %s: %s %s\n", cn, certa_error_last(), res.reason);
    abort();
}

static ASN1_STRING *fuzz_asn1_string(struct fuzz_in *in, int type)
{
    char v[130];
    size_t n = fuzz_str(in, v, 128);
    ASN1_STRING *s = ASN1_STRING_type_new(type);
    if (s != NULL && !ASN1_STRING_set(s, v, (int)n)) {
        ASN1_STRING_free(s);
        s = NULL;
    }
    return s;
}

static GENERAL_NAME *fuzz_general_name(struct fuzz_in *in)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    unsigned t = fuzz_u8(in) % 7;
    if (gn == NULL)
        return NULL;
    switch (t) {
    case 0: GENERAL_NAME_set0_value(gn, GEN_DNS, fuzz_asn1_string(in, V_ASN1_IA5STRING)); break;
    case 1: GENERAL_NAME_set0_value(gn, GEN_IPADD, fuzz_asn1_string(in, V_ASN1_OCTET_STRING)); break;
    case 2: GENERAL_NAME_set0_value(gn, GEN_EMAIL, fuzz_asn1_string(in, V_ASN1_IA5STRING)); break;
    case 3: GENERAL_NAME_set0_value(gn, GEN_URI, fuzz_asn1_string(in, V_ASN1_IA5STRING)); break;
    case 4: {
        X509_NAME *n = X509_NAME_new();
        char v[130];
        size_t len = fuzz_str(in, v, 128);
        X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_UTF8STRING, (unsigned char *)v, (int)len, -1, 0);
        GENERAL_NAME_set0_value(gn, GEN_DIRNAME, n);
        break;
    }
    case 5: GENERAL_NAME_set0_value(gn, GEN_RID, OBJ_nid2obj(NID_ipsec_IKE)); break;
    default: {
        ASN1_TYPE *v = ASN1_TYPE_new();
        ASN1_TYPE_set(v, V_ASN1_UTF8STRING, fuzz_asn1_string(in, V_ASN1_UTF8STRING));
        GENERAL_NAME_set0_othername(gn, OBJ_nid2obj(NID_ms_upn), v);
        break;
    }
    }
    if (GENERAL_NAME_get0_value(gn, NULL) == NULL) {
        GENERAL_NAME_free(gn);
        return NULL;
    }
    return gn;
}

int fuzz_build_csr(struct fuzz_in *in, EVP_PKEY *key, const char *challenge, unsigned char **out)
{
    static const int attrs[] = { NID_commonName, NID_organizationName, NID_organizationalUnitName,
                                 NID_countryName, NID_stateOrProvinceName, NID_localityName,
                                 NID_serialNumber, NID_pkcs9_emailAddress, NID_domainComponent,
                                 NID_pkcs9_unstructuredName, NID_pkcs9_unstructuredAddress, NID_title,
                                 NID_userId, NID_undef };
    static const int types[] = { V_ASN1_UTF8STRING, V_ASN1_PRINTABLESTRING, V_ASN1_IA5STRING,
                                 V_ASN1_BMPSTRING, V_ASN1_T61STRING, V_ASN1_UNIVERSALSTRING,
                                 V_ASN1_OCTET_STRING };
    static const int ekus[] = { NID_server_auth, NID_client_auth, NID_ipsec_IKE, NID_code_sign,
                                NID_anyExtendedKeyUsage, NID_OCSP_sign, NID_time_stamp, NID_email_protect };
    X509_REQ *r = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    GENERAL_NAMES *sans = NULL;
    EXTENDED_KEY_USAGE *eku = NULL;
    int len = -1;
    *out = NULL;
    if (r == NULL || name == NULL || exts == NULL)
        goto out;
    unsigned nattr = fuzz_u8(in) % 9;
    for (unsigned i = 0; i < nattr; i++) {
        int nid = attrs[fuzz_u8(in) % (sizeof(attrs) / sizeof(attrs[0]))];
        int type = types[fuzz_u8(in) % (sizeof(types) / sizeof(types[0]))];
        char v[130];
        size_t n = fuzz_str(in, v, 128);
        ASN1_OBJECT *obj = nid != NID_undef ? OBJ_nid2obj(nid) : OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);
        X509_NAME_ENTRY *e = X509_NAME_ENTRY_create_by_OBJ(NULL, obj, type, (unsigned char *)v, (int)n);
        if (e != NULL)
            X509_NAME_add_entry(name, e, -1, (fuzz_u8(in) & 1) ? 0 : -1);
        X509_NAME_ENTRY_free(e);
        if (nid == NID_undef)
            ASN1_OBJECT_free(obj);
    }
    unsigned nsan = fuzz_u8(in) % 6;
    if (nsan > 0 && (sans = GENERAL_NAMES_new()) != NULL) {
        for (unsigned i = 0; i < nsan; i++) {
            GENERAL_NAME *gn = fuzz_general_name(in);
            if (gn != NULL && !sk_GENERAL_NAME_push(sans, gn))
                GENERAL_NAME_free(gn);
        }
        X509V3_add1_i2d(&exts, NID_subject_alt_name, sans, fuzz_u8(in) & 1, X509V3_ADD_APPEND);
    }
    unsigned flags = fuzz_u8(in);
    if ((flags & 1) && (eku = sk_ASN1_OBJECT_new_null()) != NULL) {
        unsigned n = fuzz_u8(in) % 5;
        for (unsigned i = 0; i < n; i++)
            sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(ekus[fuzz_u8(in) % (sizeof(ekus) / sizeof(ekus[0]))]));
        X509V3_add1_i2d(&exts, NID_ext_key_usage, eku, 0, X509V3_ADD_APPEND);
    }
    if (flags & 2) {
        ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
        unsigned bits = fuzz_u8(in) | fuzz_u8(in) << 8;
        for (int b = 0; b < 9 && ku; b++)
            if (bits & (1u << b))
                ASN1_BIT_STRING_set_bit(ku, b, 1);
        X509V3_add1_i2d(&exts, NID_key_usage, ku, 1, X509V3_ADD_APPEND);
        ASN1_BIT_STRING_free(ku);
    }
    if (flags & 4) {
        BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
        if (bc != NULL) {
            bc->ca = (flags & 8) ? 0xff : 0;
            X509V3_add1_i2d(&exts, NID_basic_constraints, bc, 1, X509V3_ADD_APPEND);
            BASIC_CONSTRAINTS_free(bc);
        }
    }
    if (flags & 16) {
        /* An extension of any OID with any value. */
        ASN1_OCTET_STRING *v = fuzz_asn1_string(in, V_ASN1_OCTET_STRING);
        ASN1_OBJECT *obj = OBJ_txt2obj((flags & 32) ? "1.3.6.1.4.1.99999.2" : "2.5.29.32", 1);
        X509_EXTENSION *e = v && obj ? X509_EXTENSION_create_by_OBJ(NULL, obj, (flags & 64) != 0, v) : NULL;
        if (e != NULL && !sk_X509_EXTENSION_push(exts, e))
            X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(v);
        ASN1_OBJECT_free(obj);
    }
    if (!X509_REQ_set_subject_name(r, name) || !X509_REQ_set_pubkey(r, key) ||
        (sk_X509_EXTENSION_num(exts) > 0 && !X509_REQ_add_extensions(r, exts)))
        goto out;
    if (challenge != NULL)
        X509_REQ_add1_attr_by_NID(r, NID_pkcs9_challengePassword, MBSTRING_ASC, (const unsigned char *)challenge, -1);
    const EVP_MD *md = EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? NULL : (flags & 128) ? EVP_sha1() : EVP_sha256();
    if (X509_REQ_sign(r, key, md) > 0)
        len = i2d_X509_REQ(r, out);
out:
    ERR_clear_error();
    sk_ASN1_OBJECT_free(eku);
    GENERAL_NAMES_free(sans);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(name);
    X509_REQ_free(r);
    return len;
}
