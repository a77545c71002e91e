/* Trustpoint fields: one table drives defaults, validation of each field,
 * and the text form used by trustpoint.conf, the CLI and JSON, so that a
 * value accepted by one is accepted by all. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "certa/csr.h"
#include "certa/keystore.h"
#include "certa/trustpoint.h"

typedef int (*check_fn)(const char *field, const char *value);

struct field_def {
    struct certa_tp_field pub;
    size_t offset;
    size_t size;       /* strings: buffer size */
    int min, max;      /* ints */
    check_fn check;    /* strings: extra validation */
};

static int check_protocol(const char *f, const char *v)
{
    if (strcmp(v, "scep") && strcmp(v, "cmp") && strcmp(v, "est") && strcmp(v, "manual"))
        return certa_error_set(CERTA_EINVAL, "%s must be scep, cmp, est or manual, not '%s'", f, v);
    return 0;
}

static int check_url_scheme(const char *f, const char *v, const char *const *schemes)
{
    for (const char *const *s = schemes; *s; s++) {
        size_t n = strlen(*s);
        if (strncasecmp(v, *s, n) == 0 && v[n] != '\0' && v[n] != '/') {
            for (const char *p = v; *p; p++)
                if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
                    return certa_error_set(CERTA_EINVAL, "%s '%s' contains a space or non-ASCII character", f, v);
            return 0;
        }
    }
    return certa_error_set(CERTA_EINVAL, "%s '%s' must start with %s%s%s", f, v, schemes[0],
                           schemes[1] ? " or " : "", schemes[1] ? schemes[1] : "");
}

static int check_url(const char *f, const char *v)
{
    static const char *const s[] = { "http://", "https://", NULL };
    return check_url_scheme(f, v, s);
}

/* The HTTP client speaks to HTTP proxies only (https through CONNECT). */
static int check_proxy(const char *f, const char *v)
{
    static const char *const s[] = { "http://", NULL };
    return check_url_scheme(f, v, s);
}

static int check_label(const char *f, const char *v)
{
    (void)f;
    return certa_keystore_label_check(v);
}

static int check_key_type(const char *f, const char *v)
{
    if (!strcmp(v, "ec") || !strcmp(v, "ec:p256") || !strcmp(v, "ec:p384") || !strcmp(v, "ed25519") ||
        !strcmp(v, "rsa"))
        return 0;
    if (strncmp(v, "rsa:", 4) == 0) {
        char *end;
        long bits = strtol(v + 4, &end, 10);
        if (*end == '\0' && end != v + 4 && bits >= 2048 && bits <= 4096)
            return 0;
    }
    return certa_error_set(CERTA_EINVAL, "%s '%s' is not supported (ec:p256, ec:p384, rsa:2048..4096, ed25519)", f, v);
}

static int check_subject(const char *f, const char *v)
{
    X509_NAME *n = NULL;
    int rc = certa_name_parse(v, &n);
    X509_NAME_free(n);
    if (rc < 0) {
        char why[256];
        snprintf(why, sizeof(why), "%s", certa_error_last());
        return certa_error_set(rc, "%s: %s", f, why);
    }
    return 0;
}

static int check_san(const char *f, const char *v)
{
    GENERAL_NAME *gn = NULL;
    int rc = certa_san_parse(v, &gn);
    GENERAL_NAME_free(gn);
    (void)f;
    return rc;
}

static int check_usage(const char *f, const char *v)
{
    unsigned u;
    (void)f;
    return certa_usage_parse(v, &u);
}

static int check_digest(const char *f, const char *v)
{
    if (strcmp(v, "sha256") && strcmp(v, "sha384") && strcmp(v, "sha512") && strcmp(v, "sha1") && strcmp(v, "md5"))
        return certa_error_set(CERTA_EINVAL, "%s must be sha256, sha384 or sha512 (sha1, md5 with legacy), not '%s'",
                               f, v);
    return 0;
}

/* "sha256:AB:CD..." (also spaces, any case) -> "sha256:abcd...". */
static int normalize_fingerprint(const char *f, const char *v, char *out, size_t len)
{
    static const struct { const char *alg; size_t hexlen; } algs[] = {
        { "md5", 32 }, { "sha1", 40 }, { "sha256", 64 },
    };
    const char *colon = strchr(v, ':');
    if (colon == NULL)
        return certa_error_set(CERTA_EINVAL, "%s needs an algorithm: md5:HEX, sha1:HEX or sha256:HEX", f);
    size_t al = (size_t)(colon - v);
    for (size_t i = 0; i < 3; i++) {
        if (strlen(algs[i].alg) != al || strncasecmp(v, algs[i].alg, al) != 0)
            continue;
        char hex[65];
        size_t n = 0;
        for (const char *p = colon + 1; *p; p++) {
            if (*p == ':' || *p == ' ')
                continue;
            if (!isxdigit((unsigned char)*p) || n >= algs[i].hexlen)
                return certa_error_set(CERTA_EINVAL, "%s: %s fingerprint must be %zu hex digits", f, algs[i].alg,
                                       algs[i].hexlen);
            hex[n++] = (char)tolower((unsigned char)*p);
        }
        if (n != algs[i].hexlen)
            return certa_error_set(CERTA_EINVAL, "%s: %s fingerprint must be %zu hex digits, got %zu", f,
                                   algs[i].alg, algs[i].hexlen, n);
        hex[n] = '\0';
        snprintf(out, len, "%s:%s", algs[i].alg, hex);
        return 0;
    }
    return certa_error_set(CERTA_EINVAL, "%s: unknown algorithm '%.*s' (md5, sha1 or sha256)", f, (int)al, v);
}

static int check_ip(const char *f, const char *v)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, v, buf) != 1 && inet_pton(AF_INET6, v, buf) != 1)
        return certa_error_set(CERTA_EINVAL, "%s '%s' is not an IPv4 or IPv6 address", f, v);
    return 0;
}

static int check_ifname(const char *f, const char *v)
{
    if (strlen(v) > 15)
        return certa_error_set(CERTA_EINVAL, "%s '%s' is longer than 15 characters", f, v);
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-@:", *p))
            return certa_error_set(CERTA_EINVAL, "%s '%s' is not a valid interface name", f, v);
    return 0;
}

static int check_netns(const char *f, const char *v)
{
    if (!strcmp(v, ".") || !strcmp(v, ".."))
        return certa_error_set(CERTA_EINVAL, "%s '%s' is not a namespace name", f, v);
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
            return certa_error_set(CERTA_EINVAL, "%s '%s' may only contain letters, digits, '.', '_' and '-'", f, v);
    return 0;
}

static int check_revocation(const char *f, const char *v)
{
    if (strcmp(v, "crl") && strcmp(v, "ocsp") && strcmp(v, "none") && strcmp(v, "crl,ocsp") && strcmp(v, "ocsp,crl"))
        return certa_error_set(CERTA_EINVAL, "%s must be crl, ocsp, crl,ocsp, ocsp,crl or none, not '%s'", f, v);
    return 0;
}

#define STR(n, a, field, chk, h) { { n, CERTA_TP_STRING, a, h }, offsetof(struct certa_trustpoint, field), \
                                   sizeof(((struct certa_trustpoint *)0)->field), 0, 0, chk }
#define INT(n, a, field, lo, hi, h) { { n, CERTA_TP_INT, a, h }, offsetof(struct certa_trustpoint, field), 0, lo, hi, NULL }
#define BOOL(n, field, h) { { n, CERTA_TP_BOOL, NULL, h }, offsetof(struct certa_trustpoint, field), 0, 0, 1, NULL }

static const struct field_def fields[] = {
    STR("protocol", "scep|cmp|est|manual", protocol, check_protocol, "enrollment protocol"),
    STR("url", "URL", url, check_url, "enrollment URL (http:// or https://)"),
    BOOL("ra", ra, "the URL is a registration authority"),
    STR("key", "LABEL", key_label, check_label, "keystore label of the key pair (default: the trustpoint name)"),
    BOOL("usage-keys", usage_keys, "use the label's usage keys (LABEL-sign, LABEL-encr)"),
    STR("key-type", "TYPE", key_type, check_key_type, "type of a key generated for enrollment (default ec:p256)"),
    INT("key-size", "BITS", key_size, 2048, 4096, "RSA modulus for regenerated keys, 2048-4096"),
    STR("subject", "DN", subject, check_subject, "subject to request (default CN=hostname.domain)"),
    { { "san", CERTA_TP_LIST, "TYPE:VALUE", "subject alternative name: dns:, ip:, email:, uri: (repeatable)" },
      0, 0, 0, 0, check_san },
    STR("key-usage", "LIST", key_usage, check_usage, "ike, ssl-client, ssl-server (comma-separated)"),
    STR("digest", "ALG", digest, check_digest, "signature digest: sha256, sha384, sha512 (sha1, md5 with --legacy)"),
    STR("fingerprint", "ALG:HEX", fingerprint, NULL, "CA certificate fingerprint: md5:, sha1: or sha256:HEX"),
    INT("retry-period", "MINUTES", retry_period, 1, 60, "minutes between polls while pending, 1-60"),
    INT("retry-count", "N", retry_count, 1, 100, "polls before giving up, 1-100"),
    STR("source-ip", "ADDR", source_ip, check_ip, "source address of enrollment traffic"),
    STR("interface", "IFNAME", interface, check_ifname, "source interface of enrollment traffic"),
    STR("netns", "NAME", netns, check_netns, "network namespace to enroll from"),
    STR("vrf", "IFNAME", vrf, check_ifname, "VRF device to bind enrollment traffic to"),
    STR("proxy", "URL", proxy, check_proxy, "HTTP proxy (http://HOST:PORT; https URLs go through CONNECT)"),
    INT("auto-enroll", "PERCENT", auto_enroll, 0, 100, "renew at this percent of validity, 1-100 (0: off)"),
    BOOL("regenerate", regenerate, "generate a new key pair on renewal"),
    BOOL("updated-effective", updated_effective, "the renewed certificate takes effect at once"),
    STR("revocation", "crl|ocsp|none", revocation, check_revocation, "revocation checking of peers"),
    BOOL("legacy", legacy, "allow md5/sha1/des3 for old CAs"),
    STR("cmp-ref", "REF", cmp_ref, NULL, "CMP reference number for the shared secret"),
    STR("cmp-cert", "FILE", cmp_cert, NULL, "CMP: sign requests with this certificate (PEM), e.g. an IDevID"),
    STR("cmp-key", "LABEL", cmp_key, check_label, "CMP: keystore label of the --cmp-cert key"),
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

const struct certa_tp_field *certa_trustpoint_fields(void)
{
    static struct certa_tp_field pub[NFIELDS + 1];
    if (pub[0].name == NULL)
        for (size_t i = 0; i < NFIELDS; i++)
            pub[i] = fields[i].pub;
    return pub;
}

static const struct field_def *find(const char *name)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (strcmp(fields[i].pub.name, name) == 0)
            return &fields[i];
    return NULL;
}

int certa_trustpoint_name_check(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n > 64)
        return certa_error_set(CERTA_EINVAL, "trustpoint name must have 1 to 64 characters");
    /* Same alphabet as key labels: the name is the default key label. */
    if (name[0] == '-')
        return certa_error_set(CERTA_EINVAL, "trustpoint name '%s' must not start with '-'", name);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
            return certa_error_set(CERTA_EINVAL, "trustpoint name '%s' may only contain letters, digits, '_' and '-'",
                                   name);
    return 0;
}

void certa_trustpoint_init(struct certa_trustpoint *tp, const char *name)
{
    memset(tp, 0, sizeof(*tp));
    snprintf(tp->name, sizeof(tp->name), "%s", name);
    snprintf(tp->protocol, sizeof(tp->protocol), "manual");
    snprintf(tp->key_type, sizeof(tp->key_type), "ec:p256");
    snprintf(tp->digest, sizeof(tp->digest), "sha256");
    snprintf(tp->revocation, sizeof(tp->revocation), "crl");
    tp->retry_period = 1;
    tp->retry_count = 10;
}

/* Values must survive a trip through trustpoint.conf (inih): one line,
 * no surrounding blanks, no inline " ;" comment, bounded length. */
static int check_storable(const char *field, const char *v, size_t size)
{
    size_t n = strlen(v);
    if (n == 0)
        return certa_error_set(CERTA_EINVAL, "%s must not be empty", field);
    if (n >= size || n > CERTA_TP_VALUE_MAX)
        return certa_error_set(CERTA_EINVAL, "%s is longer than %zu characters", field,
                               (size - 1) < CERTA_TP_VALUE_MAX ? size - 1 : (size_t)CERTA_TP_VALUE_MAX);
    if (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1]))
        return certa_error_set(CERTA_EINVAL, "%s must not start or end with a blank", field);
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return certa_error_set(CERTA_EINVAL, "%s contains a control character", field);
        if (v[i] == ';' && i > 0 && isspace((unsigned char)v[i - 1]))
            return certa_error_set(CERTA_EINVAL, "%s must not contain ' ;'", field);
    }
    return 0;
}

static int parse_bool(const char *field, const char *v, int *out)
{
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcmp(v, "0"))
        *out = 0;
    else
        return certa_error_set(CERTA_EINVAL, "%s must be yes or no, not '%s'", field, v);
    return 0;
}

static void reset_field(struct certa_trustpoint *tp, const struct field_def *fd)
{
    struct certa_trustpoint def;
    certa_trustpoint_init(&def, tp->name);
    if (fd->pub.kind == CERTA_TP_LIST) {
        tp->san_count = 0;
        return;
    }
    size_t size = fd->pub.kind == CERTA_TP_STRING ? fd->size : sizeof(int);
    memcpy((char *)tp + fd->offset, (char *)&def + fd->offset, size);
}

int certa_trustpoint_set(struct certa_trustpoint *tp, const char *field, const char *value)
{
    const struct field_def *fd = find(field);
    int rc;
    if (fd == NULL)
        return certa_error_set(CERTA_EINVAL, "unknown trustpoint field '%s'", field);
    if (value == NULL) {
        reset_field(tp, fd);
        return 0;
    }
    switch (fd->pub.kind) {
    case CERTA_TP_BOOL:
        return parse_bool(field, value, (int *)((char *)tp + fd->offset));
    case CERTA_TP_INT: {
        char *end = NULL;
        long n = strtol(value, &end, 10);
        if (*value == '\0' || *end != '\0' || n < fd->min || n > fd->max)
            return certa_error_set(CERTA_EINVAL, "%s must be a number from %d to %d, not '%s'", field, fd->min,
                                   fd->max, value);
        *(int *)((char *)tp + fd->offset) = (int)n;
        return 0;
    }
    case CERTA_TP_LIST:
        if ((rc = check_storable(field, value, CERTA_TP_VALUE_MAX + 1)) < 0 || (rc = fd->check(field, value)) < 0)
            return rc;
        if (tp->san_count >= CERTA_TP_MAX_SANS)
            return certa_error_set(CERTA_EINVAL, "at most %d subject alternative names", CERTA_TP_MAX_SANS);
        snprintf(tp->sans[tp->san_count++], CERTA_TP_VALUE_MAX + 1, "%s", value);
        return 0;
    case CERTA_TP_STRING:
        /* Fingerprints shrink when normalised (colons go). */
        if (strcmp(field, "fingerprint") == 0)
            return (rc = check_storable(field, value, CERTA_TP_VALUE_MAX + 1)) < 0
                       ? rc : normalize_fingerprint(field, value, tp->fingerprint, sizeof(tp->fingerprint));
        if ((rc = check_storable(field, value, fd->size)) < 0)
            return rc;
        if (fd->check != NULL && (rc = fd->check(field, value)) < 0)
            return rc;
        snprintf((char *)tp + fd->offset, fd->size, "%s", value);
        return 0;
    }
    return certa_error_set(CERTA_EINVAL, "bad field kind");
}

int certa_trustpoint_get(const struct certa_trustpoint *tp, const char *field, char *out, size_t len)
{
    const struct field_def *fd = find(field);
    if (fd == NULL)
        return certa_error_set(CERTA_EINVAL, "unknown trustpoint field '%s'", field);
    const char *base = (const char *)tp + fd->offset;
    switch (fd->pub.kind) {
    case CERTA_TP_BOOL: snprintf(out, len, "%s", *(const int *)base ? "yes" : "no"); break;
    case CERTA_TP_INT:
        /* 0 below the range means "unset" (key-size). */
        if (*(const int *)base == 0 && fd->min > 0)
            snprintf(out, len, "%s", "");
        else
            snprintf(out, len, "%d", *(const int *)base);
        break;
    case CERTA_TP_STRING: snprintf(out, len, "%s", base); break;
    case CERTA_TP_LIST: {
        size_t used = 0;
        out[0] = '\0';
        for (size_t i = 0; i < tp->san_count && used < len; i++)
            used += (size_t)snprintf(out + used, len - used, "%s%s", i ? " " : "", tp->sans[i]);
        break;
    }
    }
    return 0;
}

int certa_trustpoint_validate(const struct certa_trustpoint *tp)
{
    if (tp->netns[0] && tp->vrf[0])
        return certa_error_set(CERTA_EINVAL, "give a network namespace or a VRF device, not both");
    if (tp->source_ip[0] && tp->interface[0])
        return certa_error_set(CERTA_EINVAL, "give a source IP or a source interface, not both");
    if ((!strcmp(tp->digest, "md5") || !strcmp(tp->digest, "sha1")) && !tp->legacy)
        return certa_error_set(CERTA_EPOLICY, "digest %s is a legacy algorithm: set legacy yes to allow it",
                               tp->digest);
    if (strcmp(tp->protocol, "manual") != 0 && tp->url[0] == '\0')
        return certa_error_set(CERTA_EINVAL, "protocol %s needs an enrollment URL (--url)", tp->protocol);
    return 0;
}

int certa_trustpoint_subject(const struct certa_trustpoint *tp, char *out, size_t len)
{
    if (tp->subject[0]) {
        snprintf(out, len, "%s", tp->subject);
        return 0;
    }
    char host[256] = "", domain[256] = "";
    if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
        snprintf(host, sizeof(host), "localhost");
    /* Like IOS: hostname plus the configured domain, when there is one. */
    if (strchr(host, '.') == NULL && getdomainname(domain, sizeof(domain) - 1) == 0 && domain[0] &&
        strcmp(domain, "(none)") != 0)
        snprintf(out, len, "CN=%s.%s", host, domain);
    else
        snprintf(out, len, "CN=%s", host);
    return 0;
}

const char *certa_trustpoint_key_label(const struct certa_trustpoint *tp)
{
    return tp->key_label[0] ? tp->key_label : tp->name;
}
