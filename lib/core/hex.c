/* Hex text for fingerprints and serial numbers. */
#include <ctype.h>
#include <string.h>
#include "certa/util.h"

static const char hexdigits[] = "0123456789abcdef";

void certa_hex_encode(const unsigned char *in, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hexdigits[in[i] >> 4];
        out[2 * i + 1] = hexdigits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

void certa_hex_colons(const unsigned char *in, size_t len, char *out)
{
    static const char upper[] = "0123456789ABCDEF";
    if (len == 0) {
        out[0] = '\0';
        return;
    }
    for (size_t i = 0; i < len; i++) {
        out[3 * i] = upper[in[i] >> 4];
        out[3 * i + 1] = upper[in[i] & 15];
        out[3 * i + 2] = ':';
    }
    out[3 * len - 1] = '\0';
}

int certa_serial_normalize(const char *in, char *out, size_t out_len)
{
    if (strncasecmp(in, "serial=", 7) == 0)
        in += 7;
    if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
        in += 2;
    size_t n = 0;
    int leading = 1;
    for (const char *p = in; *p; p++) {
        if (*p == ':' || *p == ' ')
            continue;
        if (!isxdigit((unsigned char)*p))
            return certa_error_set(CERTA_EINVAL, "serial number '%s' is not hexadecimal", in);
        if (leading && *p == '0')
            continue;
        leading = 0;
        if (n + 1 >= out_len || n >= 128)
            return certa_error_set(CERTA_EINVAL, "serial number '%s' is too long", in);
        out[n++] = (char)tolower((unsigned char)*p);
    }
    if (n == 0) {
        /* All zeros or empty: zero is not a valid serial, empty is no serial. */
        return certa_error_set(CERTA_EINVAL, "serial number '%s' is empty or zero", in);
    }
    out[n] = '\0';
    return 0;
}
