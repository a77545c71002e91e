/* Profiles: [profile NAME] sections of ca.conf parsed into what a certificate
 * may get, with the constant extensions (basicConstraints, keyUsage, EKU,
 * CDP, AIA) encoded once per CA handle so issuing only attaches them. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include "certa/ca.h"
#include "ca_internal.h"

static const char *const ku_names[9][2] = {
    { "digitalSignature", "digital-signature" }, { "nonRepudiation", "contentCommitment" },
    { "keyEncipherment", "key-encipherment" },  { "dataEncipherment", "data-encipherment" },
    { "keyAgreement", "key-agreement" },        { "keyCertSign", "key-cert-sign" },
    { "cRLSign", "crl-sign" },                  { "encipherOnly", "encipher-only" },
    { "decipherOnly", "decipher-only" },
};

/* Splits a list on commas and whitespace; calls fn for each word. */
static int each_word(const char *list, int (*fn)(const char *w, void *arg), void *arg)
{
    char word[256];
    const char *p = list;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        size_t n = 0;
        while (p[n] && p[n] != ',' && !isspace((unsigned char)p[n]))
            n++;
        if (n == 0)
            break;
        if (n >= sizeof(word))
            return certa_error_set(CERTA_EINVAL, "list item too long in '%s'", list);
        memcpy(word, p, n);
        word[n] = '\0';
        int rc = fn(word, arg);
        if (rc < 0)
            return rc;
        p += n;
    }
    return 0;
}

static int ku_word(const char *w, void *arg)
{
    unsigned *bits = arg;
    for (int i = 0; i < 9; i++) {
        if (strcasecmp(w, ku_names[i][0]) == 0 || strcasecmp(w, ku_names[i][1]) == 0) {
            *bits |= 1u << i;
            return 0;
        }
    }
    return certa_error_set(CERTA_EINVAL, "unknown key usage '%s'", w);
}

int certa_profile_parse_keyusage(const char *list, unsigned *bits)
{
    *bits = 0;
    return each_word(list, ku_word, bits);
}

struct parse_ctx {
    certa_profile *p;
    const certa_ca *ca;
    int kind;           /* for san patterns */
};

static int eku_word(const char *w, void *arg)
{
    certa_profile *p = ((struct parse_ctx *)arg)->p;
    int nid = NID_undef;
    if (strcasecmp(w, "ike") == 0)
        nid = NID_ipsec_IKE;
    else if (strcasecmp(w, "ssl-client") == 0 || strcasecmp(w, "clientAuth") == 0)
        nid = NID_client_auth;
    else if (strcasecmp(w, "ssl-server") == 0 || strcasecmp(w, "serverAuth") == 0)
        nid = NID_server_auth;
    else if (strcasecmp(w, "code-signing") == 0 || strcasecmp(w, "codeSigning") == 0)
        nid = NID_code_sign;
    else if (strcasecmp(w, "email-protection") == 0 || strcasecmp(w, "emailProtection") == 0)
        nid = NID_email_protect;
    else if (strcasecmp(w, "ocsp-signing") == 0 || strcasecmp(w, "OCSPSigning") == 0)
        nid = NID_OCSP_sign;
    else if (strcasecmp(w, "time-stamping") == 0 || strcasecmp(w, "timeStamping") == 0)
        nid = NID_time_stamp;
    ASN1_OBJECT *obj = nid != NID_undef ? OBJ_nid2obj(nid) : OBJ_txt2obj(w, 1);
    if (obj == NULL)
        return certa_error_set(CERTA_EINVAL, "unknown extended key usage '%s' (use ike, ssl-client, "
                               "ssl-server or a dotted OID)", w);
    if (p->neku == CERTA_PROFILE_MAX_EKU) {
        ASN1_OBJECT_free(obj);
        return certa_error_set(CERTA_ETOOBIG, "too many extended key usages");
    }
    p->eku[p->neku++] = nid != NID_undef ? OBJ_dup(obj) : obj;
    return 0;
}

static int keytype_word(const char *w, void *arg)
{
    certa_profile *p = ((struct parse_ctx *)arg)->p;
    int lo, hi;
    char tail;
    if (strncasecmp(w, "rsa:", 4) == 0) {
        int n = sscanf(w + 4, "%d-%d%c", &lo, &hi, &tail);
        if (n == 1)
            hi = lo;
        if ((n != 1 && n != 2) || lo < 2048 || hi > 16384 || lo > hi)
            return certa_error_set(CERTA_EINVAL, "bad key type '%s' (rsa:MIN-MAX, MIN >= 2048)", w);
        p->rsa_min = lo;
        p->rsa_max = hi;
    } else if (strcasecmp(w, "rsa") == 0) {
        p->rsa_min = 2048;
        p->rsa_max = 4096;
    } else if (strcasecmp(w, "ec:p256") == 0 || strcasecmp(w, "ec:prime256v1") == 0) {
        p->ec_p256 = 1;
    } else if (strcasecmp(w, "ec:p384") == 0 || strcasecmp(w, "ec:secp384r1") == 0) {
        p->ec_p384 = 1;
    } else if (strcasecmp(w, "ec:p521") == 0 || strcasecmp(w, "ec:secp521r1") == 0) {
        p->ec_p521 = 1;
    } else if (strcasecmp(w, "ed25519") == 0) {
        p->ed25519 = 1;
    } else if (strcasecmp(w, "ed448") == 0) {
        p->ed448 = 1;
    } else {
        return certa_error_set(CERTA_EINVAL, "unknown key type '%s' (rsa:MIN-MAX, ec:p256, ec:p384, "
                               "ec:p521, ed25519, ed448)", w);
    }
    return 0;
}

static int subject_word(const char *w, void *arg)
{
    certa_profile *p = ((struct parse_ctx *)arg)->p;
    int nid = OBJ_txt2nid(w);
    if (nid == NID_undef)
        return certa_error_set(CERTA_EINVAL, "unknown subject attribute '%s'", w);
    for (size_t i = 0; i < p->nsubject; i++)
        if (p->subject[i].nid == nid)
            return 0;
    if (p->nsubject == CERTA_PROFILE_MAX_ATTRS)
        return certa_error_set(CERTA_ETOOBIG, "too many subject attributes");
    p->subject[p->nsubject++].nid = nid;
    return 0;
}

static int san_kind(const char *w)
{
    static const char *const names[CERTA_SAN_KINDS] = { "dns", "ip", "email", "uri" };
    for (int i = 0; i < CERTA_SAN_KINDS; i++)
        if (strcasecmp(w, names[i]) == 0)
            return i;
    return -1;
}

static int san_word(const char *w, void *arg)
{
    certa_profile *p = ((struct parse_ctx *)arg)->p;
    int k = san_kind(w);
    if (k < 0)
        return certa_error_set(CERTA_EINVAL, "unknown SAN type '%s' (dns, ip, email, uri)", w);
    p->san_allowed[k] = 1;
    return 0;
}

static int san_pattern_word(const char *w, void *arg)
{
    struct parse_ctx *c = arg;
    certa_profile *p = c->p;
    if (p->nsan_patterns[c->kind] == CERTA_PROFILE_MAX_PATTERNS)
        return certa_error_set(CERTA_ETOOBIG, "too many SAN patterns");
    char *s = strdup(w);
    if (s == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    p->san_patterns[c->kind][p->nsan_patterns[c->kind]++] = s;
    return 0;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on"))
        *out = 1;
    else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "off"))
        *out = 0;
    else
        return certa_error_set(CERTA_EINVAL, "'%s' is not yes or no", v);
    return 0;
}

/* Expands {base_url} and {name} in a configured URL. */
static char *expand_url(const certa_ca *ca, const char *v)
{
    const char *base = certa_conf_get(&ca->conf, "ca", "base_url");
    certa_buf b = { 0 };
    for (const char *s = v; *s;) {
        if (strncmp(s, "{base_url}", 10) == 0) {
            certa_buf_appendf(&b, "%s", base ? base : "");
            s += 10;
        } else if (strncmp(s, "{name}", 6) == 0) {
            certa_buf_appendf(&b, "%s", ca->name);
            s += 6;
        } else {
            certa_buf_append(&b, s, 1);
            s++;
        }
    }
    if (certa_buf_append(&b, "", 1) != 0) {
        certa_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

static int set_key(certa_profile *p, const certa_ca *ca, const char *key, const char *v)
{
    struct parse_ctx c = { .p = p, .ca = ca };
    if (strcmp(key, "days") == 0) {
        char *end;
        long d = strtol(v, &end, 10);
        if (*end || d < 1 || d > 36500)
            return certa_error_set(CERTA_EINVAL, "days '%s' is not a number of days in 1..36500", v);
        p->days = (int)d;
        return 0;
    }
    if (strcmp(key, "key_usage") == 0)
        return certa_profile_parse_keyusage(v, &p->key_usage);
    if (strcmp(key, "extended_key_usage") == 0) {
        for (size_t i = 0; i < p->neku; i++)
            ASN1_OBJECT_free(p->eku[i]);
        p->neku = 0;
        return each_word(v, eku_word, &c);
    }
    if (strcmp(key, "key_types") == 0) {
        p->rsa_min = p->rsa_max = 0;
        p->ec_p256 = p->ec_p384 = p->ec_p521 = p->ed25519 = p->ed448 = 0;
        return each_word(v, keytype_word, &c);
    }
    if (strcmp(key, "subject") == 0) {
        p->nsubject = 0;
        return each_word(v, subject_word, &c);
    }
    if (strncmp(key, "subject.", 8) == 0) {
        int nid = OBJ_txt2nid(key + 8);
        for (size_t i = 0; nid != NID_undef && i < p->nsubject; i++) {
            if (p->subject[i].nid == nid) {
                free(p->subject[i].pattern);
                p->subject[i].pattern = strdup(v);
                return p->subject[i].pattern ? 0 : CERTA_ENOMEM;
            }
        }
        return certa_error_set(CERTA_EINVAL, "%s: attribute is not in this profile's subject list", key);
    }
    if (strcmp(key, "san") == 0 || strcmp(key, "san_types") == 0) {
        memset(p->san_allowed, 0, sizeof(p->san_allowed));
        return each_word(v, san_word, &c);
    }
    if (strncmp(key, "san.", 4) == 0) {
        c.kind = san_kind(key + 4);
        if (c.kind < 0 || !p->san_allowed[c.kind])
            return certa_error_set(CERTA_EINVAL, "%s: SAN type is not in this profile's san list", key);
        return each_word(v, san_pattern_word, &c);
    }
    char **url = !strcmp(key, "crl_url") ? &p->crl_url : !strcmp(key, "ocsp_url") ? &p->ocsp_url
                 : !strcmp(key, "ca_issuers_url") ? &p->ca_issuers_url : NULL;
    if (url != NULL) {
        free(*url);
        *url = v[0] ? expand_url(ca, v) : NULL;
        return v[0] && *url == NULL ? CERTA_ENOMEM : 0;
    }
    if (strcmp(key, "digest") == 0) {
        if (strlen(v) >= sizeof(p->digest))
            return certa_error_set(CERTA_EINVAL, "unknown digest '%s'", v);
        strcpy(p->digest, v);
        return 0;
    }
    if (strcmp(key, "legacy") == 0)
        return parse_bool(v, &p->legacy);
    if (strcmp(key, "ocsp_nocheck") == 0)
        return parse_bool(v, &p->ocsp_nocheck);
    if (strcmp(key, "approval") == 0) {
        if (strcasecmp(v, "auto") == 0)
            p->manual = 0;
        else if (strcasecmp(v, "manual") == 0)
            p->manual = 1;
        else
            return certa_error_set(CERTA_EINVAL, "approval '%s' is not auto or manual", v);
        return 0;
    }
    return certa_error_set(CERTA_EINVAL, "unknown setting '%s'", key);
}

static X509_EXTENSION *ku_ext(unsigned bits)
{
    ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
    X509_EXTENSION *ext = NULL;
    if (bs == NULL)
        return NULL;
    for (int i = 0; i < 9; i++)
        if ((bits & (1u << i)) && !ASN1_BIT_STRING_set_bit(bs, i, 1))
            goto out;
    ext = X509V3_EXT_i2d(NID_key_usage, 1, bs);
out:
    ASN1_BIT_STRING_free(bs);
    return ext;
}

static GENERAL_NAME *uri_name(const char *uri)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();
    if (gn == NULL || s == NULL || !ASN1_STRING_set(s, uri, -1)) {
        GENERAL_NAME_free(gn);
        ASN1_IA5STRING_free(s);
        return NULL;
    }
    GENERAL_NAME_set0_value(gn, GEN_URI, s);
    return gn;
}

static X509_EXTENSION *cdp_ext(const char *uri)
{
    CRL_DIST_POINTS *cdp = sk_DIST_POINT_new_null();
    DIST_POINT *dp = DIST_POINT_new();
    X509_EXTENSION *ext = NULL;
    if (cdp == NULL || dp == NULL || (dp->distpoint = DIST_POINT_NAME_new()) == NULL)
        goto out;
    dp->distpoint->type = 0;
    if ((dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL)
        goto out;
    GENERAL_NAME *gn = uri_name(uri);
    if (gn == NULL || !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn)) {
        GENERAL_NAME_free(gn);
        goto out;
    }
    if (!sk_DIST_POINT_push(cdp, dp))
        goto out;
    dp = NULL;
    ext = X509V3_EXT_i2d(NID_crl_distribution_points, 0, cdp);
out:
    DIST_POINT_free(dp);
    CRL_DIST_POINTS_free(cdp);
    return ext;
}

static int aia_push(AUTHORITY_INFO_ACCESS *aia, int nid, const char *uri)
{
    ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
    if (ad == NULL)
        return 0;
    GENERAL_NAME_free(ad->location);
    ad->method = OBJ_nid2obj(nid);
    ad->location = uri_name(uri);
    if (ad->location == NULL || !sk_ACCESS_DESCRIPTION_push(aia, ad)) {
        ACCESS_DESCRIPTION_free(ad);
        return 0;
    }
    return 1;
}

static X509_EXTENSION *aia_ext(const char *ocsp, const char *issuers)
{
    AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
    X509_EXTENSION *ext = NULL;
    if (aia == NULL)
        return NULL;
    if ((ocsp && !aia_push(aia, NID_ad_OCSP, ocsp)) || (issuers && !aia_push(aia, NID_ad_ca_issuers, issuers)))
        goto out;
    ext = X509V3_EXT_i2d(NID_info_access, 0, aia);
out:
    AUTHORITY_INFO_ACCESS_free(aia);
    return ext;
}

/* Resolves the digest and encodes the constant extensions. */
static int finish_profile(certa_ca *ca, certa_profile *p)
{
    const char *what = p->name;
    if (p->key_usage & ((1u << 5) | (1u << 6)))
        return certa_error_set(CERTA_EPOLICY, "profile '%s': keyCertSign and cRLSign are never granted "
                               "to certificates issued through a profile", what);
    int legacy_md = !strcasecmp(p->digest, "md5") || !strcasecmp(p->digest, "sha1");
    if (legacy_md && !p->legacy)
        return certa_error_set(CERTA_EPOLICY, "profile '%s': digest %s needs legacy = yes", what, p->digest);
    if (!legacy_md && strcasecmp(p->digest, "sha256") && strcasecmp(p->digest, "sha384") &&
        strcasecmp(p->digest, "sha512"))
        return certa_error_set(CERTA_EINVAL, "profile '%s': unknown digest '%s' (sha256, sha384, "
                               "sha512; md5 or sha1 with legacy = yes)", what, p->digest);
    int id = ca->key ? EVP_PKEY_get_base_id(ca->key) : EVP_PKEY_NONE;
    p->md = (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) ? NULL : EVP_get_digestbyname(p->digest);

    /* EdDSA contexts cannot be copied: those CAs sign the ordinary way. */
    if (ca->key != NULL && p->md != NULL) {
        p->sign_tmpl = EVP_MD_CTX_new();
        if (p->sign_tmpl == NULL || EVP_DigestSignInit(p->sign_tmpl, NULL, p->md, NULL, ca->key) != 1) {
            EVP_MD_CTX_free(p->sign_tmpl);
            p->sign_tmpl = NULL;
            ERR_clear_error();
        }
    }
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
    if (bc == NULL)
        return CERTA_ENOMEM;
    bc->ca = 0;
    p->bc_ext = X509V3_EXT_i2d(NID_basic_constraints, 1, bc);
    BASIC_CONSTRAINTS_free(bc);
    /* Encipherment is an RSA operation; EC and EdDSA keys do not get it. */
    unsigned rsa_only = (1u << 2) | (1u << 3);
    p->ku_ext_rsa = p->key_usage ? ku_ext(p->key_usage) : NULL;
    p->ku_ext_other = (p->key_usage & ~rsa_only) ? ku_ext(p->key_usage & ~rsa_only) : NULL;
    if (p->neku > 0) {
        EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
        for (size_t i = 0; eku && i < p->neku; i++)
            sk_ASN1_OBJECT_push(eku, p->eku[i]);
        p->eku_ext = eku ? X509V3_EXT_i2d(NID_ext_key_usage, 0, eku) : NULL;
        sk_ASN1_OBJECT_free(eku);   /* the objects stay the profile's */
        if (p->eku_ext == NULL)
            return certa_error_ossl(CERTA_ECRYPTO, "profile '%s': encoding extended key usage", what);
    }
    if (p->crl_url && (p->cdp_ext = cdp_ext(p->crl_url)) == NULL)
        return certa_error_ossl(CERTA_ECRYPTO, "profile '%s': encoding crl_url", what);
    if ((p->ocsp_url || p->ca_issuers_url) && (p->aia_ext = aia_ext(p->ocsp_url, p->ca_issuers_url)) == NULL)
        return certa_error_ossl(CERTA_ECRYPTO, "profile '%s': encoding ocsp_url/ca_issuers_url", what);
    if (p->ocsp_nocheck) {
        ASN1_NULL *null = ASN1_NULL_new();
        p->nocheck_ext = null ? X509V3_EXT_i2d(NID_id_pkix_OCSP_noCheck, 0, null) : NULL;
        ASN1_NULL_free(null);
        if (p->nocheck_ext == NULL)
            return certa_error_ossl(CERTA_ECRYPTO, "profile '%s': encoding ocsp_nocheck", what);
    }
    if (p->bc_ext == NULL || (p->key_usage && p->ku_ext_rsa == NULL))
        return certa_error_ossl(CERTA_ECRYPTO, "profile '%s': encoding extensions", what);
    return 0;
}

static void profile_defaults(certa_profile *p)
{
    p->days = 365;
    p->key_usage = (1u << 0) | (1u << 2);   /* digitalSignature, keyEncipherment */
    p->rsa_min = 2048;
    p->rsa_max = 4096;
    p->ec_p256 = p->ec_p384 = p->ed25519 = 1;
    static const int nids[] = { NID_commonName, NID_organizationName, NID_organizationalUnitName,
                                NID_countryName, NID_stateOrProvinceName, NID_localityName,
                                NID_serialNumber, NID_pkcs9_emailAddress, NID_domainComponent,
                                NID_pkcs9_unstructuredName, NID_pkcs9_unstructuredAddress };
    for (size_t i = 0; i < sizeof(nids) / sizeof(nids[0]); i++)
        p->subject[p->nsubject++].nid = nids[i];
    for (int k = 0; k < CERTA_SAN_KINDS; k++)
        p->san_allowed[k] = 1;
    strcpy(p->digest, "sha256");
}

static void profile_clear(certa_profile *p)
{
    free(p->name);
    for (size_t i = 0; i < p->neku; i++)
        ASN1_OBJECT_free(p->eku[i]);
    for (size_t i = 0; i < p->nsubject; i++)
        free(p->subject[i].pattern);
    for (int k = 0; k < CERTA_SAN_KINDS; k++)
        for (size_t i = 0; i < p->nsan_patterns[k]; i++)
            free(p->san_patterns[k][i]);
    free(p->crl_url);
    free(p->ocsp_url);
    free(p->ca_issuers_url);
    X509_EXTENSION_free(p->bc_ext);
    X509_EXTENSION_free(p->ku_ext_rsa);
    X509_EXTENSION_free(p->ku_ext_other);
    X509_EXTENSION_free(p->eku_ext);
    X509_EXTENSION_free(p->cdp_ext);
    X509_EXTENSION_free(p->aia_ext);
    X509_EXTENSION_free(p->nocheck_ext);
    EVP_MD_CTX_free(p->sign_tmpl);
    memset(p, 0, sizeof(*p));
}

void certa_profiles_free(certa_ca *ca)
{
    for (size_t i = 0; i < ca->nprofiles; i++)
        profile_clear(&ca->profiles[i]);
    free(ca->profiles);
    ca->profiles = NULL;
    ca->nprofiles = 0;
}

int certa_profiles_load(certa_ca *ca)
{
    int rc = 0;
    size_t count = 0;
    for (size_t i = 0; i < ca->conf.n; i++)
        if (strncmp(ca->conf.e[i].section, "profile ", 8) == 0)
            count++;   /* an upper bound on the number of profiles */
    ca->profiles = calloc(count ? count : 1, sizeof(*ca->profiles));
    if (ca->profiles == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    for (size_t i = 0; i < ca->conf.n; i++) {
        const struct certa_conf_entry *e = &ca->conf.e[i];
        if (strncmp(e->section, "profile ", 8) != 0)
            continue;
        const char *name = e->section + 8;
        while (*name == ' ')
            name++;
        certa_profile *p = NULL;
        for (size_t j = 0; j < ca->nprofiles; j++)
            if (strcmp(ca->profiles[j].name, name) == 0)
                p = &ca->profiles[j];
        if (p == NULL) {
            p = &ca->profiles[ca->nprofiles++];
            profile_defaults(p);
            if ((p->name = strdup(name)) == NULL)
                return certa_error_set(CERTA_ENOMEM, "out of memory");
        }
        rc = set_key(p, ca, e->key, e->value);
        if (rc < 0) {
            char msg[512];
            snprintf(msg, sizeof(msg), "%s", certa_error_last());
            return certa_error_set(rc, "%s/ca.conf [profile %s] %s: %s", ca->dir, name, e->key, msg);
        }
    }
    for (size_t j = 0; j < ca->nprofiles; j++)
        if ((rc = finish_profile(ca, &ca->profiles[j])) < 0)
            return rc;
    return 0;
}

const certa_profile *certa_ca_profile(const certa_ca *ca, const char *name)
{
    if (name == NULL || name[0] == '\0') {
        name = certa_conf_get(&ca->conf, "ca", "default_profile");
        if (name == NULL)
            name = "default";
    }
    for (size_t i = 0; i < ca->nprofiles; i++)
        if (strcmp(ca->profiles[i].name, name) == 0)
            return &ca->profiles[i];
    certa_error_set(CERTA_ENOTFOUND, "no profile '%s' in %s/ca.conf", name, ca->dir);
    return NULL;
}

const char *certa_profile_name(const certa_profile *p) { return p->name; }
int certa_profile_manual_approval(const certa_profile *p) { return p->manual; }
int certa_profile_legacy(const certa_profile *p) { return p->legacy; }
