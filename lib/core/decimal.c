/* Decimal text of an unsigned number without printf, for the lines formatted
 * on every request (certad's log, OCSP's Cache-Control, HTTP status lines). */
#include <string.h>
#include "certa/util.h"

size_t certa_u64_decimal(uint64_t v, char out[CERTA_U64_DECIMAL_MAX])
{
    char digits[CERTA_U64_DECIMAL_MAX];
    size_t i = sizeof(digits) - 1;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    memcpy(out, digits + i, sizeof(digits) - i);
    return sizeof(digits) - 1 - i;
}
