/* Text forms of names: distinguished names ("CN=a,O=b" or "/CN=a/O=b"),
 * subjectAltName entries ("dns:", "ip:", "email:", "uri:") and the seeds'
 * key-usage words. Parsing only; the ASN.1 is built by OpenSSL. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include "certa/csr.h"

#define NAME_TEXT_MAX 4096
#define NAME_VALUE_MAX 1024
#define SAN_TEXT_MAX 1024

/* The attributes a device or CA subject may carry. Everything else is
 * refused so a typo ("CM=") does not silently become an OID lookup. */
static const struct { const char *name; int nid; } name_attrs[] = {
    { "CN", NID_commonName },
    { "commonName", NID_commonName },
    { "C", NID_countryName },
    { "countryName", NID_countryName },
    { "ST", NID_stateOrProvinceName },
    { "S", NID_stateOrProvinceName },
    { "stateOrProvinceName", NID_stateOrProvinceName },
    { "L", NID_localityName },
    { "localityName", NID_localityName },
    { "O", NID_organizationName },
    { "organizationName", NID_organizationName },
    { "OU", NID_organizationalUnitName },
    { "organizationalUnitName", NID_organizationalUnitName },
    { "E", NID_pkcs9_emailAddress },
    { "emailAddress", NID_pkcs9_emailAddress },
    { "serialNumber", NID_serialNumber },
    { "DC", NID_domainComponent },
    { "domainComponent", NID_domainComponent },
    { "UID", NID_userId },
    { "unstructuredName", NID_pkcs9_unstructuredName },
    { "unstructuredAddress", NID_pkcs9_unstructuredAddress },
    { "title", NID_title },
    { "GN", NID_givenName },
    { "givenName", NID_givenName },
    { "SN", NID_surname },
    { "surname", NID_surname },
    { "street", NID_streetAddress },
    { "postalCode", NID_postalCode },
    { "name", NID_name },
    { "initials", NID_initials },
    { "dnQualifier", NID_dnQualifier },
    { "pseudonym", NID_pseudonym },
};

static int attr_nid(const char *name)
{
    for (size_t i = 0; i < sizeof(name_attrs) / sizeof(name_attrs[0]); i++)
        if (strcasecmp(name, name_attrs[i].name) == 0)
            return name_attrs[i].nid;
    return NID_undef;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void trim(char *s, size_t *len, int keep_last_escaped)
{
    size_t n = *len;
    while (n > 0 && s[n - 1] == ' ' && !keep_last_escaped)
        n--;
    s[n] = '\0';
    *len = n;
}

/* Parses one RDN "attr=value" ending at sep (or NUL), unescaping the value.
 * *pp advances past the separator. */
static int parse_rdn(const char **pp, char sep, X509_NAME *name)
{
    const char *p = *pp;
    char attr[64], value[NAME_VALUE_MAX + 1];
    size_t al = 0, vl = 0;
    int last_escaped = 0;

    while (*p == ' ')
        p++;
    while (*p && *p != '=' && *p != sep) {
        if (al + 1 >= sizeof(attr))
            return certa_error_set(CERTA_EINVAL, "attribute name too long in subject");
        attr[al++] = *p++;
    }
    trim(attr, &al, 0);
    if (*p != '=')
        return certa_error_set(CERTA_EINVAL, "subject component '%s' has no '='", attr);
    p++;
    while (*p == ' ')
        p++;
    while (*p && *p != sep) {
        int c = (unsigned char)*p++;
        last_escaped = 0;
        if (c == '\\') {
            if (*p == '\0')
                return certa_error_set(CERTA_EINVAL, "subject ends with a lone backslash");
            if (hexval(p[0]) >= 0 && p[1] && hexval(p[1]) >= 0) {
                c = hexval(p[0]) * 16 + hexval(p[1]);
                p += 2;
            } else {
                c = (unsigned char)*p++;
            }
            last_escaped = 1;
        }
        if (vl >= NAME_VALUE_MAX)
            return certa_error_set(CERTA_EINVAL, "value of %s longer than %d bytes", attr, NAME_VALUE_MAX);
        value[vl++] = (char)c;
    }
    trim(value, &vl, last_escaped);
    if (*p == sep)
        p++;
    *pp = p;

    int nid = attr_nid(attr);
    if (nid == NID_undef)
        return certa_error_set(CERTA_EINVAL, "unknown subject attribute '%s' (use CN, O, OU, C, ST, L, E, DC, serialNumber ...)", attr);
    if (vl == 0)
        return certa_error_set(CERTA_EINVAL, "empty value for %s in subject", attr);
    if (nid == NID_countryName && vl != 2)
        return certa_error_set(CERTA_EINVAL, "country (C=%s) must be a two-letter code", value);
    if (!X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (unsigned char *)value, (int)vl, -1, 0))
        return certa_error_ossl(CERTA_EINVAL, "invalid value for %s in subject", attr);
    return 0;
}

int certa_name_parse(const char *text, X509_NAME **out)
{
    int rc = 0;
    *out = NULL;
    if (text == NULL || *text == '\0')
        return certa_error_set(CERTA_EINVAL, "empty subject name");
    if (strlen(text) > NAME_TEXT_MAX)
        return certa_error_set(CERTA_ETOOBIG, "subject name longer than %d bytes", NAME_TEXT_MAX);
    X509_NAME *name = X509_NAME_new();
    if (name == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    const char *p = text;
    char sep = ',';
    if (*p == '/') {
        sep = '/';
        p++;
    }
    while (*p) {
        if ((rc = parse_rdn(&p, sep, name)) < 0)
            goto out;
    }
    if (X509_NAME_entry_count(name) == 0) {
        rc = certa_error_set(CERTA_EINVAL, "empty subject name");
        goto out;
    }
    *out = name;
    name = NULL;
out:
    X509_NAME_free(name);
    return rc;
}

char *certa_name_text(const X509_NAME *name)
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *res = NULL, *data = NULL;
    if (mem == NULL)
        return NULL;
    /* Encoding order, ", " between RDNs, RFC 2253 escaping (so the text
     * parses back with certa_name_parse), UTF-8 kept as is. */
    unsigned long flags = XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    if (X509_NAME_print_ex(mem, name, 0, flags) >= 0) {
        long len = BIO_get_mem_data(mem, &data);
        res = malloc((size_t)len + 1);
        /* An empty name prints nothing: the BIO then has no data pointer. */
        if (res != NULL) {
            if (len > 0)
                memcpy(res, data, (size_t)len);
            res[len] = '\0';
        }
    }
    BIO_free(mem);
    return res;
}

static int valid_dns(const char *s)
{
    if (*s == '\0' || strlen(s) > 253)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '*' && *s != '_')
            return 0;
    return 1;
}

static int ia5_name(int type, const char *value, GENERAL_NAME **out)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();
    if (gn == NULL || s == NULL || !ASN1_STRING_set(s, value, (int)strlen(value))) {
        GENERAL_NAME_free(gn);
        ASN1_IA5STRING_free(s);
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    }
    GENERAL_NAME_set0_value(gn, type, s);
    *out = gn;
    return 0;
}

static int all_ascii_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

int certa_san_parse(const char *spec, GENERAL_NAME **out)
{
    *out = NULL;
    if (spec == NULL || strlen(spec) > SAN_TEXT_MAX)
        return certa_error_set(CERTA_EINVAL, "subject alternative name missing or longer than %d bytes", SAN_TEXT_MAX);
    const char *colon = strchr(spec, ':');
    if (colon == NULL)
        return certa_error_set(CERTA_EINVAL, "SAN '%s' needs a type prefix (dns:, ip:, email:, uri:)", spec);
    size_t tl = (size_t)(colon - spec);
    const char *v = colon + 1;
    if (*v == '\0')
        return certa_error_set(CERTA_EINVAL, "SAN '%s' has an empty value", spec);
    if (tl == 3 && strncasecmp(spec, "dns", 3) == 0) {
        if (!valid_dns(v))
            return certa_error_set(CERTA_EINVAL, "SAN '%s': not a valid DNS name", spec);
        return ia5_name(GEN_DNS, v, out);
    }
    if (tl == 5 && strncasecmp(spec, "email", 5) == 0) {
        const char *at = strchr(v, '@');
        if (at == NULL || at == v || at[1] == '\0' || !all_ascii_printable(v))
            return certa_error_set(CERTA_EINVAL, "SAN '%s': not a valid email address", spec);
        return ia5_name(GEN_EMAIL, v, out);
    }
    if (tl == 3 && strncasecmp(spec, "uri", 3) == 0) {
        const char *c = strchr(v, ':');
        if (c == NULL || c == v || !all_ascii_printable(v))
            return certa_error_set(CERTA_EINVAL, "SAN '%s': not an absolute URI", spec);
        return ia5_name(GEN_URI, v, out);
    }
    if (tl == 2 && strncasecmp(spec, "ip", 2) == 0) {
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(v);
        if (ip == NULL) {
            ERR_clear_error();
            return certa_error_set(CERTA_EINVAL, "SAN '%s': not an IPv4 or IPv6 address", spec);
        }
        GENERAL_NAME *gn = GENERAL_NAME_new();
        if (gn == NULL) {
            ASN1_OCTET_STRING_free(ip);
            return certa_error_set(CERTA_ENOMEM, "out of memory");
        }
        GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
        *out = gn;
        return 0;
    }
    return certa_error_set(CERTA_EINVAL, "SAN '%s': unknown type '%.*s' (use dns:, ip:, email:, uri:)", spec,
                           (int)tl, spec);
}

int certa_usage_parse(const char *list, unsigned *flags)
{
    *flags = 0;
    if (list == NULL || *list == '\0')
        return certa_error_set(CERTA_EINVAL, "empty key-usage list (use ike, ssl-client, ssl-server)");
    if (strlen(list) > 256)
        return certa_error_set(CERTA_EINVAL, "key-usage list too long");
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ", ");
        if (n == 3 && strncasecmp(p, "ike", 3) == 0)
            *flags |= CERTA_USAGE_IKE;
        else if (n == 10 && strncasecmp(p, "ssl-client", 10) == 0)
            *flags |= CERTA_USAGE_SSL_CLIENT;
        else if (n == 10 && strncasecmp(p, "ssl-server", 10) == 0)
            *flags |= CERTA_USAGE_SSL_SERVER;
        else if (n > 0) {
            *flags = 0;
            return certa_error_set(CERTA_EINVAL, "unknown key usage '%.*s' (use ike, ssl-client, ssl-server)",
                                   (int)n, p);
        }
        p += n;
        while (*p == ',' || *p == ' ')
            p++;
    }
    if (*flags == 0)
        return certa_error_set(CERTA_EINVAL, "empty key-usage list (use ike, ssl-client, ssl-server)");
    return 0;
}
