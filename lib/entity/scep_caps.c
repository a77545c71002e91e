/* GetCACaps: the keywords a SCEP CA advertises (RFC 8894 section 3.5.2) and
 * the algorithms and method a client picks from them. Legacy algorithms
 * (3DES, SHA-1) only when the trustpoint enables them. */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include "scep_msg.h"

static const struct {
    const char *word;
    unsigned cap;
} words[] = {
    { "AES", SCEP_CAP_AES },           { "DES3", SCEP_CAP_DES3 },     { "POSTPKIOperation", SCEP_CAP_POST },
    { "Renewal", SCEP_CAP_RENEWAL },   { "SHA-1", SCEP_CAP_SHA1 },    { "SHA-256", SCEP_CAP_SHA256 },
    { "SHA-512", SCEP_CAP_SHA512 },    { "SCEPStandard", SCEP_CAP_STANDARD },
};

unsigned certa_scep_caps_parse(const char *body, size_t len)
{
    unsigned caps = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && isspace((unsigned char)body[i]))
            i++;
        size_t start = i;
        while (i < len && !isspace((unsigned char)body[i]))
            i++;
        size_t n = i - start;
        for (size_t w = 0; n > 0 && w < sizeof(words) / sizeof(words[0]); w++)
            if (strlen(words[w].word) == n && strncasecmp(body + start, words[w].word, n) == 0)
                caps |= words[w].cap;
    }
    /* SCEPStandard promises AES, POSTPKIOperation and SHA-256. */
    if (caps & SCEP_CAP_STANDARD)
        caps |= SCEP_CAP_AES | SCEP_CAP_POST | SCEP_CAP_SHA256;
    return caps;
}

int certa_scep_algs_choose(unsigned caps, int legacy, struct scep_algs *out)
{
    memset(out, 0, sizeof(*out));
    out->post = (caps & SCEP_CAP_POST) != 0;
    out->renewal = (caps & SCEP_CAP_RENEWAL) != 0;
    if (caps & SCEP_CAP_AES)
        out->cipher = EVP_aes_128_cbc(); /* RFC 8894: "AES" is AES-128-CBC */
    else if (legacy)
        out->cipher = EVP_des_ede3_cbc();
    else
        return certa_error_set(CERTA_EPOLICY, "the CA does not offer AES in GetCACaps%s; 3DES needs --legacy",
                               caps & SCEP_CAP_DES3 ? " (only DES3)" : "");
    if (caps & SCEP_CAP_SHA256)
        out->md = EVP_sha256();
    else if (caps & SCEP_CAP_SHA512)
        out->md = EVP_sha512();
    else if (legacy)
        out->md = EVP_sha1();
    else
        return certa_error_set(CERTA_EPOLICY, "the CA offers no SHA-2 digest in GetCACaps%s; SHA-1 needs --legacy",
                               caps & SCEP_CAP_SHA1 ? " (only SHA-1)" : "");
    return 0;
}
