/* Profile policy: decides whether a normalized request may be issued under a
 * profile. Refused: a key type or size the profile does not list (BAD_ALG), a
 * subject attribute or SAN the profile does not list or whose value misses the
 * profile's pattern, an EKU request the profile grants none of (BAD_REQUEST).
 * Not refused but never granted: CA:TRUE, keyCertSign/cRLSign, any extension
 * the profile does not list (build.c builds only from the profile). */
#include <arpa/inet.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include "ca_internal.h"

#define MAX_RDNS 32
#define MAX_SANS 64
#define MAX_VALUE 1024

static int refuse(int *kind, char *reason, size_t len, int k, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int refuse(int *kind, char *reason, size_t len, int k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, len, fmt, ap);
    va_end(ap);
    *kind = k;
    return 1;
}

static void allowed_keys(const certa_profile *p, char *buf, size_t len)
{
    buf[0] = '\0';
    size_t n = 0;
    if (p->rsa_min)
        n += (size_t)snprintf(buf + n, len - n, "rsa:%d-%d ", p->rsa_min, p->rsa_max);
    if (p->ec_p256 && n < len) n += (size_t)snprintf(buf + n, len - n, "ec:p256 ");
    if (p->ec_p384 && n < len) n += (size_t)snprintf(buf + n, len - n, "ec:p384 ");
    if (p->ec_p521 && n < len) n += (size_t)snprintf(buf + n, len - n, "ec:p521 ");
    if (p->ed25519 && n < len) n += (size_t)snprintf(buf + n, len - n, "ed25519 ");
    if (p->ed448 && n < len) n += (size_t)snprintf(buf + n, len - n, "ed448 ");
    if (n > 0 && n <= len)
        buf[n - 1] = '\0';
}

static int check_key(const certa_profile *p, EVP_PKEY *key, int *kind, char *reason, size_t len)
{
    char allowed[128], what[96];
    int ok = 0;
    allowed_keys(p, allowed, sizeof(allowed));
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: {
        int bits = EVP_PKEY_get_bits(key);
        snprintf(what, sizeof(what), "rsa:%d", bits);
        ok = p->rsa_min && bits >= p->rsa_min && bits <= p->rsa_max;
        break;
    }
    case EVP_PKEY_EC: {
        char group[64] = "";
        size_t glen = 0;
        EVP_PKEY_get_group_name(key, group, sizeof(group), &glen);
        int nid = OBJ_txt2nid(group);
        if (nid == NID_undef)
            nid = EC_curve_nist2nid(group);
        snprintf(what, sizeof(what), "ec:%s", group[0] ? group : "explicit-parameters");
        ok = (nid == NID_X9_62_prime256v1 && p->ec_p256) || (nid == NID_secp384r1 && p->ec_p384) ||
             (nid == NID_secp521r1 && p->ec_p521);
        break;
    }
    case EVP_PKEY_ED25519:
        snprintf(what, sizeof(what), "ed25519");
        ok = p->ed25519;
        break;
    case EVP_PKEY_ED448:
        snprintf(what, sizeof(what), "ed448");
        ok = p->ed448;
        break;
    default:
        snprintf(what, sizeof(what), "%s", OBJ_nid2sn(EVP_PKEY_get_base_id(key)));
        break;
    }
    if (!ok)
        return refuse(kind, reason, len, CERTA_REJECT_BAD_ALG,
                      "key %s is not allowed by profile '%s' (allowed: %s)", what, p->name, allowed);
    return 0;
}

static int check_subject(const certa_profile *p, const X509_NAME *name, int *kind, char *reason, size_t len)
{
    int n = name ? X509_NAME_entry_count(name) : 0;
    if (n == 0)
        return refuse(kind, reason, len, CERTA_REJECT_BAD_REQUEST, "the request has an empty subject");
    if (n > MAX_RDNS)
        return refuse(kind, reason, len, CERTA_REJECT_BAD_REQUEST, "the subject has more than %d attributes", MAX_RDNS);
    for (int i = 0; i < n; i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        const struct certa_subject_rule *rule = NULL;
        for (size_t j = 0; j < p->nsubject; j++)
            if (p->subject[j].nid == nid)
                rule = &p->subject[j];
        char oid[80];
        if (nid != NID_undef)
            snprintf(oid, sizeof(oid), "%s", OBJ_nid2sn(nid));
        else
            OBJ_obj2txt(oid, sizeof(oid), X509_NAME_ENTRY_get_object(e), 1);
        if (rule == NULL)
            return refuse(kind, reason, len, CERTA_REJECT_BAD_REQUEST,
                          "subject attribute %s is not allowed by profile '%s'", oid, p->name);
        unsigned char *utf8 = NULL;
        int ulen = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
        if (ulen < 0 || ulen > MAX_VALUE || memchr(utf8, 0, (size_t)ulen) != NULL) {
            OPENSSL_free(utf8);
            return refuse(kind, reason, len, CERTA_REJECT_BAD_REQUEST, "subject attribute %s has a bad value", oid);
        }
        int match = rule->pattern == NULL || fnmatch(rule->pattern, (char *)utf8, 0) == 0;
        if (!match)
            refuse(kind, reason, len, CERTA_REJECT_BAD_REQUEST,
                   "subject %s=%s does not match profile '%s' pattern '%s'", oid, utf8, p->name, rule->pattern);
        OPENSSL_free(utf8);
        if (!match)
            return 1;
    }
    return 0;
}

static int check_san(const certa_profile *p, const GENERAL_NAME *gn, int *kind, char *reason, size_t len)
{
    static const char *const kind_names[] = { "dns", "ip", "email", "uri" };
    char value[MAX_VALUE + 1];
    int type;
    const ASN1_STRING *s = GENERAL_NAME_get0_value(gn, &type);
    int k;
    switch (type) {
    case GEN_DNS: k = CERTA_SAN_DNS; break;
    case GEN_IPADD: k = CERTA_SAN_IP; break;
    case GEN_EMAIL: k = CERTA_SAN_EMAIL; break;
    case GEN_URI: k = CERTA_SAN_URI; break;
    default:
        return refuse(kind, reason, len, CERTA_REJECT_BAD_REQUEST,
                      "SAN of type %s is not allowed by profile '%s'",
                      type == GEN_OTHERNAME ? "otherName" : type == GEN_DIRNAME ? "dirName" :
                      type == GEN_RID ? "registeredID" : "x400/ediParty", p->name);
    }
    int slen = ASN1_STRING_length(s);
    const unsigned char *data = ASN1_STRING_get0_data(s);
    if (k == CERTA_SAN_IP) {
        int af = slen == 4 ? AF_INET : slen == 16 ? AF_INET6 : 0;
        if (af == 0 || inet_ntop(af, data, value, sizeof(value)) == NULL)
            return refuse(kind, reason, len, CERTA_REJECT_BAD_REQUEST, "SAN IP address has a bad length");
    } else {
        if (slen <= 0 || slen > MAX_VALUE || memchr(data, 0, (size_t)slen) != NULL)
            return refuse(kind, reason, len, CERTA_REJECT_BAD_REQUEST, "SAN %s has a bad value", kind_names[k]);
        memcpy(value, data, (size_t)slen);
        value[slen] = '\0';
    }
    if (!p->san_allowed[k])
        return refuse(kind, reason, len, CERTA_REJECT_BAD_REQUEST,
                      "SAN %s:%s is not allowed: profile '%s' does not list SAN type %s",
                      kind_names[k], value, p->name, kind_names[k]);
    if (p->nsan_patterns[k] == 0)
        return 0;
    for (size_t i = 0; i < p->nsan_patterns[k]; i++)
        if (fnmatch(p->san_patterns[k][i], value, k == CERTA_SAN_DNS ? FNM_CASEFOLD : 0) == 0)
            return 0;
    return refuse(kind, reason, len, CERTA_REJECT_BAD_REQUEST,
                  "SAN %s:%s does not match any of profile '%s' san.%s patterns",
                  kind_names[k], value, p->name, kind_names[k]);
}

/* An EKU request must overlap what the profile grants: asking only for
 * usages the profile lacks is refused rather than answered with a
 * certificate the requester cannot use. */
static int check_eku(const certa_profile *p, const struct certa_request *req, int *kind, char *reason, size_t len)
{
    if (req->extensions == NULL)
        return 0;
    EXTENDED_KEY_USAGE *eku = X509V3_get_d2i(req->extensions, NID_ext_key_usage, NULL, NULL);
    if (eku == NULL)
        return 0;
    int overlap = 0;
    char first[80] = "";
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
        const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
        for (size_t j = 0; j < p->neku; j++)
            overlap |= OBJ_cmp(o, p->eku[j]) == 0;
        if (i == 0)
            OBJ_obj2txt(first, sizeof(first), o, 0);
    }
    int n = sk_ASN1_OBJECT_num(eku);
    EXTENDED_KEY_USAGE_free(eku);
    if (n > 0 && !overlap)
        return refuse(kind, reason, len, CERTA_REJECT_BAD_REQUEST,
                      "extended key usage %s is not allowed by profile '%s'", first, p->name);
    return 0;
}

int certa_policy_check(const certa_ca *ca, const certa_profile *p, const struct certa_request *req,
                       int *kind, char *reason, size_t len)
{
    (void)ca;
    *kind = CERTA_REJECT_NONE;
    reason[0] = '\0';
    if (req->pubkey == NULL)
        return refuse(kind, reason, len, CERTA_REJECT_BAD_REQUEST, "the request carries no public key");
    int rc;
    if ((rc = check_key(p, req->pubkey, kind, reason, len)) != 0)
        return rc;
    if ((rc = check_subject(p, req->subject, kind, reason, len)) != 0)
        return rc;
    int nsans = req->sans ? sk_GENERAL_NAME_num(req->sans) : 0;
    if (nsans > MAX_SANS)
        return refuse(kind, reason, len, CERTA_REJECT_BAD_REQUEST, "more than %d SANs requested", MAX_SANS);
    for (int i = 0; i < nsans; i++)
        if ((rc = check_san(p, sk_GENERAL_NAME_value(req->sans, i), kind, reason, len)) != 0)
            return rc;
    if ((rc = check_eku(p, req, kind, reason, len)) != 0)
        return rc;
    if (req->not_after != 0 && req->not_after <= (int64_t)time(NULL))
        return refuse(kind, reason, len, CERTA_REJECT_BAD_REQUEST, "the requested end of validity has passed");
    return 0;
}
