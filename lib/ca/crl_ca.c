/* The CA's CRLs: [crl] settings (nextUpdate, digest, IDP), the CRL number,
 * and the base a delta CRL refers to, all in one store transaction around
 * the streaming builder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "certa/ca.h"
#include "ca/crl.h"

#define META_BASE_NUMBER "crl.base_number"
#define META_BASE_SEQ "crl.base_seq"

static int setting_hours(certa_ca *ca, const char *key, long def, int64_t *out)
{
    const char *v = certa_ca_setting(ca, "crl", key);
    char *end;
    long h = def;
    if (v != NULL && *v) {
        h = strtol(v, &end, 10);
        if (*end != '\0' || h < 1 || h > 24L * 3650)
            return certa_error_set(CERTA_EINVAL, "[crl] %s = '%s' is not a number of hours "
                                   "between 1 and 87600", key, v);
    }
    *out = (int64_t)h * 3600;
    return 0;
}

static int crl_digest(certa_ca *ca, EVP_PKEY *key, const EVP_MD **md)
{
    int id = EVP_PKEY_get_id(key);
    if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) {
        *md = NULL;     /* pure EdDSA: no separate digest */
        return 0;
    }
    const char *name = certa_ca_setting(ca, "crl", "digest");
    if (name == NULL || *name == '\0')
        name = "sha256";
    const char *legacy = certa_ca_setting(ca, "crl", "legacy");
    int legacy_ok = legacy != NULL && (!strcasecmp(legacy, "yes") || !strcasecmp(legacy, "true"));
    if (!strcasecmp(name, "md5") || !strcasecmp(name, "sha1")) {
        if (!legacy_ok)
            return certa_error_set(CERTA_EPOLICY, "[crl] digest = %s is a legacy algorithm; "
                                   "set [crl] legacy = yes to allow it", name);
    } else if (strcasecmp(name, "sha224") && strcasecmp(name, "sha256") &&
               strcasecmp(name, "sha384") && strcasecmp(name, "sha512")) {
        return certa_error_set(CERTA_EINVAL, "[crl] digest = %s is not supported "
                               "(sha256, sha384, sha512)", name);
    }
    if ((*md = EVP_get_digestbyname(name)) == NULL)
        return certa_error_set(CERTA_EUNSUPPORTED, "digest %s is not available", name);
    return 0;
}

static int meta_int(certa_store *s, const char *key, int64_t *out)
{
    char buf[32], *end;
    int rc = certa_store_meta_get(s, key, buf, sizeof(buf));
    if (rc != 0)
        return rc;
    long long v = strtoll(buf, &end, 10);
    if (*end != '\0' || v < 0)
        return certa_error_set(CERTA_ESTORE, "store setting %s is corrupt", key);
    *out = v;
    return 0;
}

int certa_ca_crl(certa_ca *ca, int delta, certa_buf *der)
{
    certa_store *s = certa_ca_store(ca);
    struct certa_crl_params p = { .issuer = certa_ca_cert(ca), .key = certa_ca_key(ca),
                                  .delta_base = -1,
                                  .idp_url = certa_ca_setting(ca, "crl", "idp_url") };
    int64_t life = 0, since = 0, max_seq = 0;
    int rc;
    if (s == NULL || p.issuer == NULL)
        return certa_error_set(CERTA_EINVAL, "CA is not open");
    if (p.key == NULL)
        return certa_error_set(CERTA_ESTATE, "the CA was opened without its key; cannot sign a CRL");
    if ((rc = crl_digest(ca, p.key, &p.md)) != 0 ||
        (rc = setting_hours(ca, delta ? "delta_next_update_hours" : "next_update_hours",
                            delta ? 24 : 168, &life)) != 0)
        return rc;
    p.this_update = (int64_t)time(NULL);
    p.next_update = p.this_update + life;

    /* One write transaction: the number taken, the entries read and the base
     * recorded agree, and a failure leaves the CRL number as it was. */
    if ((rc = certa_store_begin(s)) != 0)
        return rc;
    if (delta) {
        rc = meta_int(s, META_BASE_NUMBER, &p.delta_base);
        if (rc == 0)
            rc = meta_int(s, META_BASE_SEQ, &since);
        if (rc == CERTA_ENOTFOUND)
            rc = certa_error_set(CERTA_ESTATE, "no full CRL has been issued yet; a delta CRL "
                                 "needs one as its base (run `certa ca crl` first)");
        if (rc != 0)
            goto out;
    }
    if ((rc = certa_store_counter_next(s, "crl", &p.number)) != 0)
        goto out;
    /* A delta over a base taken before any revocation (since 0) streams every
     * entry on the CRL now: all of them are changes, and a hold released since
     * needs no removeFromCRL because the base never listed it. */
    rc = certa_crl_build(s, &p, since, der, &max_seq);
    if (rc != 0)
        goto out;
    if (!delta) {
        char num[32], seq[32];
        snprintf(num, sizeof(num), "%lld", (long long)p.number);
        snprintf(seq, sizeof(seq), "%lld", (long long)max_seq);
        if ((rc = certa_store_meta_set(s, META_BASE_NUMBER, num)) != 0 ||
            (rc = certa_store_meta_set(s, META_BASE_SEQ, seq)) != 0)
            goto out;
    }
    rc = certa_store_commit(s);
    if (rc != 0)
        der->len = 0;
    return rc;
out:
    certa_store_rollback(s);
    der->len = 0;
    return rc;
}
