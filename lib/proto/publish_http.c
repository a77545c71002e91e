/* ETags and conditional GET (RFC 7232) for what certad publishes: a client
 * holding the current CRL, CA certificate or OCSP response gets a 304. */
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include "publish_http.h"

int publish_etag(const unsigned char *data, size_t len, char *out, size_t out_len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * 16 + 1];
    if (out_len < 2 * 16 + 3 || EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
        return certa_error_ossl(CERTA_ECRYPTO, "hashing for an ETag");
    certa_hex_encode(md, 16, hex);   /* 128 bits identify a version well enough */
    snprintf(out, out_len, "\"%s\"", hex);
    return 0;
}

/* Weak comparison (RFC 7232 2.3.2) of each listed entity-tag with etag. */
static int etag_listed(const char *list, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *end = p;
        if (*end == '"') {
            end = strchr(end + 1, '"');
            if (end == NULL)
                return 0;
            end++;
        } else {
            while (*end && *end != ',' && *end != ' ')
                end++;
        }
        if ((size_t)(end - p) == elen && memcmp(p, etag, elen) == 0)
            return 1;
        if (end == p)
            break;
        p = end;
    }
    return 0;
}

int64_t publish_http_date(const char *s)
{
    static const char *const forms[] = { "%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                         "%a %b %e %H:%M:%S %Y" };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *end = strptime(s, forms[i], &tm);
        if (end != NULL && *end == '\0')
            return (int64_t)timegm(&tm);
    }
    return -1;
}

int publish_not_modified(const struct certa_http_request *req, const char *etag,
                         int64_t last_modified)
{
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
        return 0;
    if (req->if_none_match != NULL)
        return etag != NULL && etag[0] && etag_listed(req->if_none_match, etag);
    if (req->if_modified_since != NULL && last_modified > 0) {
        int64_t t = publish_http_date(req->if_modified_since);
        return t >= 0 && last_modified <= t;
    }
    return 0;
}
