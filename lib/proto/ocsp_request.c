/* Decoding and checking an OCSP request: exact DER, the RFC 8954 nonce
 * (1..32 octets), critical extensions, a bounded CertID count, and whether
 * each CertID names this CA (issuerNameHash and issuerKeyHash with SHA-1 or
 * SHA-2). RFC 5019 GET requests carry the DER as base64 in the path. */
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include "ocsp_internal.h"

int ocsp_issuer_init(X509 *ca_cert, struct ocsp_issuer *out)
{
    static const int nids[OCSP_ISSUER_MDS] = { NID_sha1, NID_sha256, NID_sha384, NID_sha512 };
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < OCSP_ISSUER_MDS; i++) {
        const EVP_MD *md = EVP_get_digestbynid(nids[i]);
        unsigned int nl = 0, kl = 0;
        if (md == NULL ||
            !X509_NAME_digest(X509_get_subject_name(ca_cert), md, out->name_hash[i], &nl) ||
            !X509_pubkey_digest(ca_cert, md, out->key_hash[i], &kl) || nl != kl)
            return certa_error_ossl(CERTA_ECRYPTO, "hashing the CA name and key for OCSP");
        out->nids[i] = nids[i];
        out->len[i] = nl;
    }
    return 0;
}

int ocsp_issuer_match(const struct ocsp_issuer *iss, OCSP_CERTID *id)
{
    ASN1_OCTET_STRING *name = NULL, *key = NULL;
    ASN1_OBJECT *alg = NULL;
    if (!OCSP_id_get0_info(&name, &alg, &key, NULL, id) || name == NULL || key == NULL)
        return 0;
    int nid = OBJ_obj2nid(alg);
    for (int i = 0; i < OCSP_ISSUER_MDS; i++) {
        if (iss->nids[i] != nid)
            continue;
        size_t n = iss->len[i];
        return (size_t)ASN1_STRING_length(name) == n && (size_t)ASN1_STRING_length(key) == n &&
               CRYPTO_memcmp(ASN1_STRING_get0_data(name), iss->name_hash[i], n) == 0 &&
               CRYPTO_memcmp(ASN1_STRING_get0_data(key), iss->key_hash[i], n) == 0;
    }
    return 0;   /* a hash we do not compute cannot name us */
}

size_t ocsp_certid_serial(OCSP_CERTID *id, unsigned char out[OCSP_SERIAL_MAX])
{
    ASN1_INTEGER *serial = NULL;
    if (!OCSP_id_get0_info(NULL, NULL, NULL, &serial, id) || serial == NULL)
        return 0;
    const unsigned char *p = ASN1_STRING_get0_data(serial);
    size_t n = (size_t)ASN1_STRING_length(serial);
    while (n > 0 && p[0] == 0) {
        p++;
        n--;
    }
    if (n == 0 || n > OCSP_SERIAL_MAX)
        return 0;
    memcpy(out, p, n);
    return n;
}

/* The nonce extension's value must be an OCTET STRING of 1..32 octets. */
static int check_nonce(OCSP_REQUEST *req, int idx, const char **why)
{
    X509_EXTENSION *ext = OCSP_REQUEST_get_ext(req, idx);
    ASN1_OCTET_STRING *v = ext ? X509_EXTENSION_get_data(ext) : NULL;
    if (v == NULL) {
        *why = "unreadable nonce";
        return 0;
    }
    const unsigned char *p = ASN1_STRING_get0_data(v);
    long len = ASN1_STRING_length(v);
    ASN1_OCTET_STRING *inner = d2i_ASN1_OCTET_STRING(NULL, &p, len);
    int ok = inner != NULL && p == ASN1_STRING_get0_data(v) + len;
    int n = inner ? ASN1_STRING_length(inner) : 0;
    ASN1_OCTET_STRING_free(inner);
    if (!ok)
        *why = "nonce is not an OCTET STRING";
    else if (n < 1 || n > OCSP_NONCE_MAX)
        *why = n < 1 ? "empty nonce" : "nonce longer than 32 octets";
    return ok && n >= 1 && n <= OCSP_NONCE_MAX;
}

int ocsp_request_parse(const unsigned char *der, size_t len, int max_ids,
                       const struct ocsp_issuer *iss, struct ocsp_parsed *out)
{
    memset(out, 0, sizeof(*out));
    if (len == 0 || len > OCSP_REQ_MAX) {
        out->why = len ? "request too large" : "empty request";
        return OCSP_VERDICT_MALFORMED;
    }
    const unsigned char *p = der;
    out->req = d2i_OCSP_REQUEST(NULL, &p, (long)len);
    if (out->req == NULL || p != der + len) {
        ERR_clear_error();
        out->why = out->req ? "trailing bytes after the request" : "not a DER OCSPRequest";
        return OCSP_VERDICT_MALFORMED;
    }
    int next = OCSP_REQUEST_get_ext_count(out->req);
    for (int i = 0; i < next; i++) {
        X509_EXTENSION *ext = OCSP_REQUEST_get_ext(out->req, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
        if (nid == NID_id_pkix_OCSP_Nonce) {
            if (out->has_nonce) {
                out->why = "two nonces";
                return OCSP_VERDICT_MALFORMED;
            }
            if (!check_nonce(out->req, i, &out->why))
                return OCSP_VERDICT_MALFORMED;
            out->has_nonce = 1;
        } else if (X509_EXTENSION_get_critical(ext)) {
            out->why = "unsupported critical extension";
            return OCSP_VERDICT_MALFORMED;
        }
    }
    out->count = OCSP_request_onereq_count(out->req);
    if (out->count < 1) {
        out->why = "no CertID";
        return OCSP_VERDICT_MALFORMED;
    }
    if (out->count > max_ids) {
        out->why = "too many CertIDs";
        return OCSP_VERDICT_MALFORMED;
    }
    for (int i = 0; i < out->count; i++) {
        OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(out->req, i));
        if (id == NULL || !ocsp_issuer_match(iss, id)) {
            out->why = "CertID of another issuer";
            return OCSP_VERDICT_UNAUTHORIZED;
        }
    }
    return OCSP_VERDICT_OK;
}

void ocsp_parsed_clear(struct ocsp_parsed *p)
{
    OCSP_REQUEST_free(p->req);
    p->req = NULL;
}

int ocsp_request_from_path(const char *b64, unsigned char *out, size_t *len)
{
    /* 4 base64 characters per 3 octets, plus padding. */
    unsigned char text[(OCSP_REQ_MAX / 3 + 2) * 4 + 1];
    size_t n = 0, pad = 0;
    for (const char *c = b64; *c; c++) {
        char ch = *c == ' ' || *c == '-' ? '+' : *c == '_' ? '/' : *c;
        if (ch == '\r' || ch == '\n')
            continue;
        if (n + 4 >= sizeof(text))
            return certa_error_set(CERTA_ETOOBIG, "GET request too large");
        text[n++] = (unsigned char)ch;
    }
    while (n % 4 != 0)
        text[n++] = '=';
    text[n] = '\0';
    for (size_t i = n; i > 0 && text[i - 1] == '=' && pad < 2; i--)
        pad++;
    if (n == 0)
        return certa_error_set(CERTA_EINVAL, "empty GET request");
    int got = EVP_DecodeBlock(out, text, (int)n);
    if (got < 0 || (size_t)got < pad || (size_t)got - pad > OCSP_REQ_MAX)
        return certa_error_set(CERTA_EINVAL, "GET request is not base64");
    *len = (size_t)got - pad;
    return 0;
}
