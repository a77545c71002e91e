/* RFC 5280 CRLReason names: parsing what operators type ("keyCompromise",
 * "key-compromise", "KEY_COMPROMISE", or the number) and the canonical name. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "certa/ca.h"

static const struct { int code; const char *name; } reasons[] = {
    { CERTA_REASON_UNSPECIFIED, "unspecified" },
    { CERTA_REASON_KEY_COMPROMISE, "keyCompromise" },
    { CERTA_REASON_CA_COMPROMISE, "cACompromise" },
    { CERTA_REASON_AFFILIATION_CHANGED, "affiliationChanged" },
    { CERTA_REASON_SUPERSEDED, "superseded" },
    { CERTA_REASON_CESSATION_OF_OPERATION, "cessationOfOperation" },
    { CERTA_REASON_CERTIFICATE_HOLD, "certificateHold" },
    { CERTA_REASON_REMOVE_FROM_CRL, "removeFromCRL" },
    { CERTA_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn" },
    { CERTA_REASON_AA_COMPROMISE, "aACompromise" },
};

/* Lowercase without '-', '_' and spaces, so every spelling compares equal. */
static int squash(const char *in, char *out, size_t out_len)
{
    size_t n = 0;
    for (; *in; in++) {
        if (*in == '-' || *in == '_' || *in == ' ')
            continue;
        if (n + 1 >= out_len)
            return -1;
        out[n++] = (char)tolower((unsigned char)*in);
    }
    out[n] = '\0';
    return 0;
}

int certa_reason_parse(const char *name, int *reason)
{
    char want[40], have[40];
    if (name == NULL || reason == NULL || squash(name, want, sizeof(want)) != 0 || !*want)
        goto bad;
    if (isdigit((unsigned char)want[0])) {
        char *end;
        long v = strtol(want, &end, 10);
        for (size_t i = 0; *end == '\0' && i < sizeof(reasons) / sizeof(reasons[0]); i++)
            if (reasons[i].code == v) {
                *reason = (int)v;
                return 0;
            }
        goto bad;
    }
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        squash(reasons[i].name, have, sizeof(have));
        if (strcmp(want, have) == 0) {
            *reason = reasons[i].code;
            return 0;
        }
    }
bad:
    return certa_error_set(CERTA_EINVAL, "unknown revocation reason '%s' (use unspecified, "
                           "keyCompromise, cACompromise, affiliationChanged, superseded, "
                           "cessationOfOperation, certificateHold, privilegeWithdrawn or "
                           "aACompromise)", name ? name : "");
}

const char *certa_reason_name(int reason)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].code == reason)
            return reasons[i].name;
    return reason == CERTA_REASON_NONE ? "none" : "unknown";
}
