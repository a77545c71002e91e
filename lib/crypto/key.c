/* Private keys: generation from a spec ("ec:p256", "rsa:3072", "ed25519"),
 * the strength floor, and the key's spec text. File I/O lives in key_file.c,
 * public-key views (SPKI, fingerprints) in key_public.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include "certa/key.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 4096

static int parse_rsa_bits(const char *spec, const char *bits, unsigned *out)
{
    char *end = NULL;
    if (bits == NULL) {
        *out = RSA_MIN_BITS;
        return 0;
    }
    unsigned long n = strtoul(bits, &end, 10);
    if (*bits < '0' || *bits > '9' || end == bits || *end != '\0')
        return certa_error_set(CERTA_EUNSUPPORTED, "unsupported key type '%s': RSA size must be a number of bits", spec);
    if (n < RSA_MIN_BITS)
        return certa_error_set(CERTA_EUNSUPPORTED,
                               "unsupported key type '%s': RSA keys must have at least %d bits", spec, RSA_MIN_BITS);
    if (n > RSA_MAX_BITS)
        return certa_error_set(CERTA_EUNSUPPORTED,
                               "unsupported key type '%s': RSA keys may have at most %d bits", spec, RSA_MAX_BITS);
    *out = (unsigned)n;
    return 0;
}

static const char *curve_name(const char *spec, const char *curve)
{
    (void)spec;
    if (curve == NULL || strcmp(curve, "p256") == 0 || strcmp(curve, "prime256v1") == 0 ||
        strcmp(curve, "secp256r1") == 0)
        return "P-256";
    if (strcmp(curve, "p384") == 0 || strcmp(curve, "secp384r1") == 0)
        return "P-384";
    return NULL;
}

int certa_key_generate(const char *spec, EVP_PKEY **out)
{
    char type[32];
    const char *arg = NULL;
    int rc = 0;
    *out = NULL;
    if (spec == NULL || *spec == '\0')
        spec = "ec:p256";
    size_t tl = strcspn(spec, ":");
    if (tl >= sizeof(type))
        return certa_error_set(CERTA_EUNSUPPORTED, "unsupported key type '%.64s'", spec);
    memcpy(type, spec, tl);
    type[tl] = '\0';
    if (spec[tl] == ':')
        arg = spec + tl + 1;

    EVP_PKEY *key = NULL;
    if (strcmp(type, "rsa") == 0) {
        unsigned bits;
        if ((rc = parse_rsa_bits(spec, arg, &bits)) < 0)
            return rc;
        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    } else if (strcmp(type, "ec") == 0) {
        const char *curve = curve_name(spec, arg);
        if (curve == NULL)
            return certa_error_set(CERTA_EUNSUPPORTED,
                                   "unsupported key type '%s': unknown curve (use ec:p256 or ec:p384)", spec);
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    } else if (strcmp(type, "ed25519") == 0 && arg == NULL) {
        key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    } else {
        return certa_error_set(CERTA_EUNSUPPORTED,
                               "unsupported key type '%s' (use ec:p256, ec:p384, rsa:2048..4096 or ed25519)", spec);
    }
    if (key == NULL)
        return certa_error_ossl(CERTA_ECRYPTO, "cannot generate %s key", spec);
    *out = key;
    return 0;
}

/* The EC group's NIST short name ("P-256") or NULL. */
static int ec_group(const EVP_PKEY *key, char *name, size_t len)
{
    size_t got = 0;
    if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, len, &got))
        return -1;
    int nid = OBJ_sn2nid(name);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(name);
    const char *nist = nid != NID_undef ? EC_curve_nid2nist(nid) : NULL;
    if (nist != NULL)
        snprintf(name, len, "%s", nist);
    return 0;
}

int certa_key_spec(const EVP_PKEY *key, char *out, size_t out_len)
{
    char group[64];
    int n;
    if (key == NULL)
        return certa_error_set(CERTA_EINVAL, "no key");
    if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) {
        n = snprintf(out, out_len, "rsa:%d", EVP_PKEY_get_bits(key));
    } else if (EVP_PKEY_is_a(key, "EC")) {
        if (ec_group(key, group, sizeof(group)) < 0)
            return certa_error_ossl(CERTA_ECRYPTO, "EC key without a named curve");
        if (strcmp(group, "P-256") == 0)
            n = snprintf(out, out_len, "ec:p256");
        else if (strcmp(group, "P-384") == 0)
            n = snprintf(out, out_len, "ec:p384");
        else if (strcmp(group, "P-521") == 0)
            n = snprintf(out, out_len, "ec:p521");
        else
            n = snprintf(out, out_len, "ec:%s", group);
    } else if (EVP_PKEY_is_a(key, "ED25519")) {
        n = snprintf(out, out_len, "ed25519");
    } else {
        n = snprintf(out, out_len, "%s", EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "unknown");
    }
    if (n < 0 || (size_t)n >= out_len)
        return certa_error_set(CERTA_EINVAL, "key spec does not fit in %zu bytes", out_len);
    return 0;
}

int certa_key_check_strength(const EVP_PKEY *key)
{
    char spec[80];
    int rc = certa_key_spec(key, spec, sizeof(spec));
    if (rc < 0)
        return rc;
    if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) {
        if (EVP_PKEY_get_bits(key) < RSA_MIN_BITS)
            return certa_error_set(CERTA_EPOLICY, "key %s is too weak: RSA keys need at least %d bits",
                                   spec, RSA_MIN_BITS);
        return 0;
    }
    if (strcmp(spec, "ec:p256") == 0 || strcmp(spec, "ec:p384") == 0 || strcmp(spec, "ec:p521") == 0 ||
        strcmp(spec, "ed25519") == 0)
        return 0;
    return certa_error_set(CERTA_EPOLICY, "key %s is not accepted (RSA >= 2048, EC P-256/P-384/P-521 or Ed25519)",
                           spec);
}
