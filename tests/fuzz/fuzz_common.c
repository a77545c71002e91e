/* Shared set-up of the harnesses, see fuzz_common.h. Everything made here
 * lives for the whole process; the scratch directory goes at exit. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/rsa.h>
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
