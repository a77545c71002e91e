/* Certificate serial numbers: 128 bits from the CSPRNG, positive (top bit
 * clear) and non-zero, as RFC 5280 and the CA/B rules ask. Uniqueness is the
 * store's job: the pipeline retries on CERTA_EEXIST. */
#include <openssl/bn.h>
#include <openssl/rand.h>
#include "ca_internal.h"

int certa_serial_random(ASN1_INTEGER **out, char hex[CERTA_SERIAL_HEX_MAX])
{
    unsigned char b[16];
    int rc = CERTA_ECRYPTO;
    BIGNUM *bn = NULL;
    *out = NULL;
    do {
        if (RAND_bytes(b, sizeof(b)) != 1)
            return certa_error_ossl(CERTA_ECRYPTO, "random serial number");
        b[0] &= 0x7f;
    } while (b[0] == 0 && b[1] == 0); /* keep it 15-16 octets, never zero */
    if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL || (*out = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
        rc = certa_error_ossl(CERTA_ENOMEM, "serial number");
        goto out;
    }
    /* Lowercase hex without leading zeros, as the store keys serials. */
    char full[33];
    certa_hex_encode(b, sizeof(b), full);
    const char *p = full;
    while (*p == '0')
        p++;
    snprintf(hex, CERTA_SERIAL_HEX_MAX, "%s", p);
    rc = 0;
out:
    BN_free(bn);
    return rc;
}

int certa_serial_hex(const ASN1_INTEGER *serial, char hex[CERTA_SERIAL_HEX_MAX])
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    unsigned char b[32];
    int n = bn ? BN_num_bytes(bn) : -1;
    if (n <= 0 || n > (int)sizeof(b) || BN_is_negative(bn)) {
        BN_free(bn);
        return certa_error_set(CERTA_EINVAL, "serial number is zero, negative or longer than 32 octets");
    }
    BN_bn2bin(bn, b);
    BN_free(bn);
    char full[65];
    certa_hex_encode(b, (size_t)n, full);
    const char *p = full;
    while (*p == '0' && p[1])
        p++;
    snprintf(hex, CERTA_SERIAL_HEX_MAX, "%s", p);
    return 0;
}
