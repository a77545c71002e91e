/* libFuzzer harness of the OCSP responder (certa_service_ocsp): handle() on
 * POST bodies and GET paths. The first byte picks the method and whether
 * the request's CertIDs are first pointed at this process's CA (so that
 * requests made by `openssl ocsp` for another CA reach the status lookup,
 * signing and cache) and at one of 8 good serials (bit 4 shifts which) or
 * the revoked one; the cache holds 64 entries, so it evicts; bit 5 takes
 * If-None-Match and If-Modified-Since (length-prefixed) from the next
 * bytes; bit 6 makes a GET a HEAD; bit 7 runs tick(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/ocsp.h>
#include "certa/service.h"
#include "fuzz_common.h"

extern const struct certa_service certa_service_ocsp;

static certa_ca *ca;
static void *state;
#define NGOOD 8
static X509 *good[NGOOD], *revoked;

/* A cache of 64 entries (the smallest allowed): eviction gets exercised. */
static const char *settings(void *arg, const char *section, const char *key)
{
    (void)arg;
    return strcmp(section, "ocsp") == 0 && strcmp(key, "cache_entries") == 0 ? "64" : NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    fuzz_quiet();
    ca = fuzz_ca("ocsp", "ec:p256", NULL);
    struct certa_service_env env = { .ca = ca, .setting = settings };
    if (certa_service_ocsp.start(&env, &state) < 0)
        abort();
    for (int i = 0; i < NGOOD; i++)
        good[i] = fuzz_issue(ca, fuzz_ec_key(), "good.example");
    revoked = fuzz_issue(ca, fuzz_ec_key(), "revoked.example");
    char serial[80];
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(revoked), NULL);
    char *hex = BN_bn2hex(bn);
    snprintf(serial, sizeof(serial), "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    if (certa_ca_revoke(ca, serial, 1, 0) < 0)
        abort();
    return 0;
}

/* Rewrites every CertID to name our CA (same hash algorithm), and with
 * pick 1 or 2 to the good or the revoked serial. New DER into *out. */
static int retarget(const uint8_t *d, size_t n, int pick, int salt, unsigned char **out)
{
    const unsigned char *p = d;
    OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &p, (long)n);
    X509 *issuer = certa_ca_cert(ca);
    int len = -1;
    if (req == NULL)
        return -1;
    for (int i = 0; i < OCSP_request_onereq_count(req); i++) {
        OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
        ASN1_OCTET_STRING *nh = NULL, *kh = NULL;
        ASN1_OBJECT *alg = NULL;
        ASN1_INTEGER *sn = NULL;
        if (!OCSP_id_get0_info(&nh, &alg, &kh, &sn, id))
            continue;
        const EVP_MD *md = EVP_get_digestbyobj(alg);
        unsigned char h[EVP_MAX_MD_SIZE];
        unsigned int hl = 0;
        if (md != NULL && X509_NAME_digest(X509_get_subject_name(issuer), md, h, &hl))
            ASN1_OCTET_STRING_set(nh, h, (int)hl);
        if (md != NULL && X509_pubkey_digest(issuer, md, h, &hl))
            ASN1_OCTET_STRING_set(kh, h, (int)hl);
        if (pick && sn != NULL) {
            const ASN1_INTEGER *want = X509_get0_serialNumber(pick == 1 ? good[(i + salt) % NGOOD] : revoked);
            ASN1_STRING_set(sn, ASN1_STRING_get0_data(want), ASN1_STRING_length(want));
        }
    }
    *out = NULL;
    len = i2d_OCSP_REQUEST(req, out);
    OCSP_REQUEST_free(req);
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384)
        return 0;
    unsigned mode = data[0];
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    unsigned char *der = NULL;
    char *path = NULL, inm[128], ims[128];
    struct certa_http_request req = { .method = "POST", .path = "/ocsp", .remote_addr = "127.0.0.1:1",
                                      .content_type = "application/ocsp-request" };
    if (mode & 0x20) {
        struct fuzz_in in = { body, len };
        fuzz_str(&in, inm, 100);
        fuzz_str(&in, ims, 100);
        req.if_none_match = inm[0] ? inm : NULL;
        req.if_modified_since = ims;
        body = in.p;
        len = in.n;
    }
    if (mode & 2) {
        int n = retarget(body, len, (int)((mode >> 2) & 3) % 3, (mode & 16) ? 3 : 0, &der);
        if (n > 0) {
            body = der;
            len = (size_t)n;
        }
    }
    if (mode & 1) {
        /* GET: the DER in base64 as a path, or the raw bytes when not
         * rewritten (any text a client may put there). */
        req.method = (mode & 0x40) ? "HEAD" : "GET";
        path = malloc(len * 2 + 16);
        strcpy(path, "/ocsp/");
        if (der != NULL) {
            EVP_EncodeBlock((unsigned char *)path + 6, body, (int)len);
        } else {
            memcpy(path + 6, body, len);
            path[6 + len] = '\0';
        }
        req.path = path;
    } else {
        req.body = body;
        req.body_len = len;
    }
    struct certa_http_response res = { .status = 500 };
    int rc = certa_service_ocsp.handle(state, ca, &req, &res);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "rc=%d status=%d %s\n", rc, res.status, res.log_detail);
    certa_buf_free(&res.body);
    if (mode & 0x80)
        certa_service_ocsp.tick(state, ca);
    OPENSSL_free(der);
    free(path);
    return 0;
}
