/* The device keystore: labelled key pairs as PKCS#8 files under STATE/keys/
 * (LABEL.pem for a general key, LABEL.sign.pem + LABEL.encr.pem for usage
 * keys). Labels cannot contain '.', so the two layouts never collide. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include "certa/keystore.h"

#define KEY_IMPORT_MAX (256 * 1024)

static const char *const role_ext[] = { "", ".sign", ".encr" };

int certa_keystore_label_check(const char *label)
{
    size_t n = label != NULL ? strlen(label) : 0;
    if (n == 0 || n > 64)
        return certa_error_set(CERTA_EINVAL, "key label must have 1 to 64 characters");
    if (label[0] == '-')
        return certa_error_set(CERTA_EINVAL, "key label '%s' must not start with '-'", label);
    for (size_t i = 0; i < n; i++) {
        char c = label[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return certa_error_set(CERTA_EINVAL, "key label '%s' may only contain letters, digits, '_' and '-'",
                                   label);
    }
    return 0;
}

static int key_path(const char *state, const char *label, enum certa_keystore_role role, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/keys/%s%s.pem", state, label, role_ext[role]);
    if (n < 0 || (size_t)n >= len)
        return certa_error_set(CERTA_EINVAL, "state directory path too long");
    return 0;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Which files a label has: 0 none, 1 general, 2 usage keys. */
static int label_kind(const char *state, const char *label)
{
    char p[4096];
    if (key_path(state, label, CERTA_KEYROLE_ANY, p, sizeof(p)) == 0 && file_exists(p))
        return 1;
    if (key_path(state, label, CERTA_KEYROLE_SIGN, p, sizeof(p)) == 0 && file_exists(p))
        return 2;
    if (key_path(state, label, CERTA_KEYROLE_ENCR, p, sizeof(p)) == 0 && file_exists(p))
        return 2;
    return 0;
}

/* Resolves "LABEL-sign"/"LABEL-encr" to LABEL and a role, unless a general
 * key of that exact label exists. base must hold 65 bytes. */
static int resolve(const char *state, const char *label, enum certa_keystore_role *role, char *base)
{
    int rc = certa_keystore_label_check(label);
    if (rc < 0)
        return rc;
    snprintf(base, 65, "%s", label);
    size_t n = strlen(label);
    if (label_kind(state, label) != 0 || n <= 5)
        return 0;
    const char *suffix = label + n - 5;
    enum certa_keystore_role r = strcmp(suffix, "-sign") == 0 ? CERTA_KEYROLE_SIGN
                                 : strcmp(suffix, "-encr") == 0 ? CERTA_KEYROLE_ENCR : CERTA_KEYROLE_ANY;
    if (r == CERTA_KEYROLE_ANY)
        return 0;
    base[n - 5] = '\0';
    if (label_kind(state, base) == 2) {
        if (*role != CERTA_KEYROLE_ANY && *role != r)
            return certa_error_set(CERTA_EINVAL, "label %s names the other half of usage keys", label);
        *role = r;
    } else {
        snprintf(base, 65, "%s", label);
    }
    return 0;
}

static int ensure_dir(const char *state)
{
    char p[4096];
    int rc = certa_mkdir_p(state, 0755);
    if (rc < 0)
        return rc;
    snprintf(p, sizeof(p), "%s/keys", state);
    if ((rc = certa_mkdir_p(p, 0700)) < 0)
        return rc;
    /* The directory may predate us with looser permissions. */
    if (chmod(p, 0700) < 0)
        return certa_error_set(CERTA_EIO, "cannot restrict %s: %s", p, strerror(errno));
    return 0;
}

static int zeroize_label(const char *state, const char *label)
{
    char p[4096];
    int found = 0, rc = 0;
    for (int r = 0; r < 3; r++) {
        if ((rc = key_path(state, label, (enum certa_keystore_role)r, p, sizeof(p))) < 0)
            return rc;
        if (!file_exists(p))
            continue;
        found = 1;
        if ((rc = certa_key_zeroize_file(p)) < 0)
            return rc;
    }
    if (!found)
        return certa_error_set(CERTA_ENOTFOUND, "no key pair labelled '%s' in %s/keys", label, state);
    return 0;
}

int certa_keystore_generate(const char *state, const char *label, const char *spec, int usage_keys, int replace)
{
    EVP_PKEY *k1 = NULL, *k2 = NULL;
    char p1[4096], p2[4096];
    int rc = certa_keystore_label_check(label);
    if (rc < 0)
        return rc;
    if (!replace && label_kind(state, label) != 0)
        return certa_error_set(CERTA_EEXIST, "key label '%s' already exists (zeroize it first)", label);
    /* Generate before touching anything: a bad spec leaves the old keys. */
    if ((rc = certa_key_generate(spec, &k1)) < 0)
        goto out;
    if (usage_keys && (rc = certa_key_generate(spec, &k2)) < 0)
        goto out;
    if ((rc = ensure_dir(state)) < 0)
        goto out;
    if (label_kind(state, label) != 0 && (rc = zeroize_label(state, label)) < 0)
        goto out;
    if (usage_keys) {
        if ((rc = key_path(state, label, CERTA_KEYROLE_SIGN, p1, sizeof(p1))) < 0 ||
            (rc = key_path(state, label, CERTA_KEYROLE_ENCR, p2, sizeof(p2))) < 0)
            goto out;
        if ((rc = certa_key_save(k2, p2, CERTA_FORMAT_PEM, NULL)) < 0)
            goto out;
        rc = certa_key_save(k1, p1, CERTA_FORMAT_PEM, NULL);
    } else {
        if ((rc = key_path(state, label, CERTA_KEYROLE_ANY, p1, sizeof(p1))) < 0)
            goto out;
        rc = certa_key_save(k1, p1, CERTA_FORMAT_PEM, NULL);
    }
out:
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    return rc;
}

/* PKCS#12: the MAC decides between a wrong passphrase and bad data. */
static int load_pkcs12(const unsigned char *data, size_t len, const char *pass, EVP_PKEY **out)
{
    const unsigned char *p = data;
    PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
    X509 *cert = NULL;
    STACK_OF(X509) *ca = NULL;
    int rc = 0;
    if (p12 == NULL) {
        ERR_clear_error();
        return certa_error_set(CERTA_EINVAL, "not a private key (PEM, DER or PKCS#12 expected)");
    }
    if (PKCS12_mac_present(p12) && !PKCS12_verify_mac(p12, pass, pass != NULL ? -1 : 0)) {
        ERR_clear_error();
        rc = certa_error_set(CERTA_EPASS, pass == NULL ? "the PKCS#12 file needs its passphrase (--passphrase-file)"
                                                       : "wrong passphrase for the PKCS#12 file");
        goto out;
    }
    if (!PKCS12_parse(p12, pass, out, &cert, &ca) || *out == NULL) {
        rc = certa_error_ossl(CERTA_EINVAL, "cannot read the key from the PKCS#12 file");
        goto out;
    }
out:
    X509_free(cert);
    sk_X509_pop_free(ca, X509_free);
    PKCS12_free(p12);
    return rc;
}

int certa_keystore_import(const char *state, const char *label, enum certa_keystore_role role,
                          const unsigned char *data, size_t len, const char *passphrase, int replace)
{
    EVP_PKEY *key = NULL;
    char path[4096];
    int rc = certa_keystore_label_check(label);
    if (rc < 0)
        return rc;
    if (len > KEY_IMPORT_MAX)
        return certa_error_set(CERTA_ETOOBIG, "key file larger than %d bytes", KEY_IMPORT_MAX);
    int kind = label_kind(state, label);
    if (kind != 0 && !replace)
        return certa_error_set(CERTA_EEXIST, "key label '%s' already exists (zeroize it first)", label);
    if (kind == 1 && role != CERTA_KEYROLE_ANY)
        return certa_error_set(CERTA_EEXIST, "key label '%s' holds a general-purpose key", label);

    rc = certa_key_load_mem(data, len, passphrase, &key);
    if (rc == CERTA_EINVAL)
        rc = load_pkcs12(data, len, passphrase, &key);
    if (rc < 0)
        goto out;
    if ((rc = certa_key_check_strength(key)) < 0)
        goto out;
    if ((rc = ensure_dir(state)) < 0)
        goto out;
    if (kind == 2 && role == CERTA_KEYROLE_ANY && (rc = zeroize_label(state, label)) < 0)
        goto out;
    if (kind == 1 && (rc = zeroize_label(state, label)) < 0)
        goto out;
    if ((rc = key_path(state, label, role, path, sizeof(path))) < 0)
        goto out;
    rc = certa_key_save(key, path, CERTA_FORMAT_PEM, NULL);
out:
    EVP_PKEY_free(key);
    return rc;
}

int certa_keystore_load(const char *state, const char *label, enum certa_keystore_role role, EVP_PKEY **out)
{
    char base[65], path[4096];
    *out = NULL;
    int rc = resolve(state, label, &role, base);
    if (rc < 0)
        return rc;
    int kind = label_kind(state, base);
    if (kind == 0)
        return certa_error_set(CERTA_ENOTFOUND, "no key pair labelled '%s' (generate or import one)", label);
    if (kind == 1 && role != CERTA_KEYROLE_ANY)
        return certa_error_set(CERTA_ENOTFOUND, "key label '%s' holds a general-purpose key, not usage keys", base);
    if (kind == 2 && role == CERTA_KEYROLE_ANY)
        role = CERTA_KEYROLE_SIGN;
    if ((rc = key_path(state, base, role, path, sizeof(path))) < 0)
        return rc;
    if (!file_exists(path))
        return certa_error_set(CERTA_ENOTFOUND, "key label '%s' has no %s key", base, role_ext[role] + 1);
    return certa_key_load(path, NULL, out);
}

int certa_keystore_stat(const char *state, const char *label, struct certa_keystore_entry *out)
{
    char base[65], path[4096];
    enum certa_keystore_role role = CERTA_KEYROLE_ANY;
    struct stat st;
    int rc = resolve(state, label, &role, base);
    if (rc < 0)
        return rc;
    int kind = label_kind(state, base);
    if (kind == 0)
        return certa_error_set(CERTA_ENOTFOUND, "no key pair labelled '%s'", label);
    memset(out, 0, sizeof(*out));
    snprintf(out->label, sizeof(out->label), "%s", base);
    out->kind = kind == 2 ? CERTA_KEYSTORE_USAGE : CERTA_KEYSTORE_GENERAL;
    for (int r = 0; r < 3; r++)
        if (key_path(state, base, (enum certa_keystore_role)r, path, sizeof(path)) == 0 && stat(path, &st) == 0) {
            out->created = st.st_mtime;
            break;
        }
    return 0;
}

static int by_label(const void *a, const void *b)
{
    return strcmp(((const struct certa_keystore_entry *)a)->label, ((const struct certa_keystore_entry *)b)->label);
}

int certa_keystore_list(const char *state, struct certa_keystore_entry **out, size_t *count)
{
    char dir[4096];
    struct certa_keystore_entry *list = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    *out = NULL;
    *count = 0;
    snprintf(dir, sizeof(dir), "%s/keys", state);
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : certa_error_set(CERTA_EIO, "cannot read %s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char label[65];
        size_t len = strlen(e->d_name);
        if (len < 5 || len - 4 > 64 + 5 || strcmp(e->d_name + len - 4, ".pem") != 0)
            continue;
        snprintf(label, sizeof(label), "%.*s", (int)(len - 4), e->d_name);
        char *dot = strchr(label, '.');
        if (dot != NULL) {
            if (strcmp(dot, ".sign") != 0 && strcmp(dot, ".encr") != 0)
                continue;
            *dot = '\0';
        }
        if (certa_keystore_label_check(label) < 0)
            continue;
        int dup = 0;
        for (size_t i = 0; i < n; i++)
            dup |= strcmp(list[i].label, label) == 0;
        if (dup)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            void *p = realloc(list, cap * sizeof(*list));
            if (p == NULL) {
                rc = certa_error_set(CERTA_ENOMEM, "out of memory");
                goto out;
            }
            list = p;
        }
        if (certa_keystore_stat(state, label, &list[n]) == 0)
            n++;
    }
    certa_error_clear();
    qsort(list, n, sizeof(*list), by_label);
    *out = list;
    *count = n;
    list = NULL;
out:
    free(list);
    closedir(d);
    return rc;
}

int certa_keystore_export(const char *state, const char *label, enum certa_keystore_role role, const char *path,
                          certa_format fmt, const char *passphrase)
{
    EVP_PKEY *key = NULL;
    int rc = certa_keystore_load(state, label, role, &key);
    if (rc == 0)
        rc = certa_key_save(key, path, fmt, passphrase);
    EVP_PKEY_free(key);
    return rc;
}

int certa_keystore_zeroize(const char *state, const char *label)
{
    int rc = certa_keystore_label_check(label);
    if (rc < 0)
        return rc;
    return zeroize_label(state, label);
}
