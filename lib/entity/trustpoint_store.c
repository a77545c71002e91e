/* Trustpoints on disk: STATE/trustpoints/NAME/trustpoint.conf (INI, read
 * with inih, written atomically), the secrets beside it (mode 0600), and
 * the certificate files. */
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "certa/key.h"
#include "certa/trustpoint.h"

#define CONF_NAME "trustpoint.conf"
#define CONF_MAX (64 * 1024)
#define CERTS_MAX (1024 * 1024)
#define SECRET_MAX 255

int certa_trustpoint_path(const char *state, const char *name, const char *file, char *out, size_t len)
{
    int n = file != NULL ? snprintf(out, len, "%s/trustpoints/%s/%s", state, name, file)
                         : snprintf(out, len, "%s/trustpoints/%s", state, name);
    if (n < 0 || (size_t)n >= len)
        return certa_error_set(CERTA_EINVAL, "state directory path too long");
    return 0;
}

int certa_trustpoint_exists(const char *state, const char *name)
{
    char p[4096];
    struct stat st;
    if (certa_trustpoint_name_check(name) < 0 || certa_trustpoint_path(state, name, CONF_NAME, p, sizeof(p)) < 0)
        return 0;
    return stat(p, &st) == 0 || strcmp(name, CERTA_TP_DEFAULT) == 0;
}

struct load_ctx {
    struct certa_trustpoint *tp;
    int rc;
    char why[300];
};

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    struct load_ctx *ctx = user;
    if (ctx->rc < 0)
        return 0;
    if (strcmp(section, "trustpoint") != 0) {
        ctx->rc = CERTA_EINVAL;
        snprintf(ctx->why, sizeof(ctx->why), "unknown section [%s]", section);
        return 0;
    }
    int rc = certa_trustpoint_set(ctx->tp, name, value);
    if (rc < 0) {
        ctx->rc = rc;
        snprintf(ctx->why, sizeof(ctx->why), "%s", certa_error_last());
        return 0;
    }
    return 1;
}

int certa_trustpoint_load(const char *state, const char *name, struct certa_trustpoint *tp)
{
    char path[4096];
    certa_buf b = { 0 };
    int rc = certa_trustpoint_name_check(name);
    if (rc < 0)
        return rc;
    certa_trustpoint_init(tp, name);
    if ((rc = certa_trustpoint_path(state, name, CONF_NAME, path, sizeof(path))) < 0)
        return rc;
    rc = certa_file_read(path, CONF_MAX, &b);
    if (rc == CERTA_ENOTFOUND) {
        certa_buf_free(&b);
        if (strcmp(name, CERTA_TP_DEFAULT) != 0)
            return certa_error_set(CERTA_ENOTFOUND, "no trustpoint named '%s'", name);
        rc = 0; /* "default" always exists, with default settings. */
    } else if (rc == 0) {
        struct load_ctx ctx = { .tp = tp };
        int line = ini_parse_string((const char *)b.data, on_entry, &ctx);
        certa_buf_free(&b);
        if (ctx.rc < 0)
            return certa_error_set(CERTA_EINVAL, "%s line %d: %s", path, line, ctx.why);
        if (line != 0)
            return certa_error_set(CERTA_EINVAL, "%s line %d: not a valid INI line (or longer than 200 bytes)", path,
                                   line);
    } else {
        certa_buf_free(&b);
        return rc;
    }
    char p2[4096];
    struct stat st;
    tp->has_challenge = certa_trustpoint_path(state, name, "challenge", p2, sizeof(p2)) == 0 && stat(p2, &st) == 0;
    tp->has_cmp_secret = certa_trustpoint_path(state, name, "cmp_secret", p2, sizeof(p2)) == 0 && stat(p2, &st) == 0;
    return 0;
}

int certa_trustpoint_save(const char *state, const struct certa_trustpoint *tp)
{
    char path[4096], val[CERTA_TP_VALUE_MAX + 1];
    certa_buf out = { 0 };
    int rc = certa_trustpoint_name_check(tp->name);
    if (rc < 0)
        return rc;
    if ((rc = certa_trustpoint_validate(tp)) < 0)
        return rc;
    if ((rc = certa_buf_appendf(&out, "# certa trustpoint %s: change it with `certa trustpoint set`\n[trustpoint]\n",
                                tp->name)) < 0)
        goto out;
    for (const struct certa_tp_field *f = certa_trustpoint_fields(); f->name != NULL; f++) {
        if (f->kind == CERTA_TP_LIST) {
            for (size_t i = 0; i < tp->san_count && rc == 0; i++)
                rc = certa_buf_appendf(&out, "%s = %s\n", f->name, tp->sans[i]);
            continue;
        }
        if ((rc = certa_trustpoint_get(tp, f->name, val, sizeof(val))) < 0)
            goto out;
        if (val[0] != '\0' && (rc = certa_buf_appendf(&out, "%s = %s\n", f->name, val)) < 0)
            goto out;
    }
    if (rc < 0)
        goto out;
    if ((rc = certa_trustpoint_path(state, tp->name, NULL, path, sizeof(path))) < 0 ||
        (rc = certa_mkdir_p(path, 0700)) < 0)
        goto out;
    if ((rc = certa_trustpoint_path(state, tp->name, CONF_NAME, path, sizeof(path))) < 0)
        goto out;
    rc = certa_file_write_atomic(path, out.data, out.len, 0600);
out:
    certa_buf_free(&out);
    return rc;
}

int certa_trustpoint_delete(const char *state, const char *name)
{
    char dir[4096], p[4096 + 256];
    int rc = certa_trustpoint_name_check(name);
    if (rc < 0)
        return rc;
    if (strcmp(name, CERTA_TP_DEFAULT) == 0)
        return certa_error_set(CERTA_EPOLICY, "the default trustpoint cannot be deleted");
    if (!certa_trustpoint_exists(state, name))
        return certa_error_set(CERTA_ENOTFOUND, "no trustpoint named '%s'", name);
    if ((rc = certa_trustpoint_path(state, name, NULL, dir, sizeof(dir))) < 0)
        return rc;
    DIR *d = opendir(dir);
    if (d == NULL)
        return certa_error_set(CERTA_EIO, "cannot read %s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        /* Secrets are overwritten before they go. */
        if (!strcmp(e->d_name, "challenge") || !strcmp(e->d_name, "cmp_secret"))
            rc = certa_key_zeroize_file(p);
        else if (unlink(p) < 0)
            rc = certa_error_set(CERTA_EIO, "cannot remove %s: %s", p, strerror(errno));
        if (rc < 0)
            break;
    }
    closedir(d);
    if (rc == 0 && rmdir(dir) < 0)
        rc = certa_error_set(CERTA_EIO, "cannot remove %s: %s", dir, strerror(errno));
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void certa_trustpoint_names_free(char **names, size_t count)
{
    for (size_t i = 0; names != NULL && i < count; i++)
        free(names[i]);
    free(names);
}

int certa_trustpoint_list(const char *state, char ***out, size_t *count)
{
    char dir[4096];
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0, have_default = 0;
    *out = NULL;
    *count = 0;
    snprintf(dir, sizeof(dir), "%s/trustpoints", state);
    DIR *d = opendir(dir);
    if (d == NULL && errno != ENOENT)
        return certa_error_set(CERTA_EIO, "cannot read %s: %s", dir, strerror(errno));
    struct dirent *e;
    for (;;) {
        const char *nm;
        if (d != NULL && (e = readdir(d)) != NULL) {
            nm = e->d_name;
            char conf[4096];
            struct stat st;
            if (certa_trustpoint_name_check(nm) < 0 ||
                certa_trustpoint_path(state, nm, CONF_NAME, conf, sizeof(conf)) < 0 || stat(conf, &st) < 0)
                continue;
        } else if (!have_default) {
            nm = CERTA_TP_DEFAULT;
        } else {
            break;
        }
        have_default |= strcmp(nm, CERTA_TP_DEFAULT) == 0;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            char **p = realloc(names, cap * sizeof(*names));
            if (p == NULL) {
                rc = certa_error_set(CERTA_ENOMEM, "out of memory");
                goto out;
            }
            names = p;
        }
        if ((names[n] = strdup(nm)) == NULL) {
            rc = certa_error_set(CERTA_ENOMEM, "out of memory");
            goto out;
        }
        n++;
        if (d == NULL && have_default)
            break;
    }
    certa_error_clear();
    qsort(names, n, sizeof(*names), by_name);
    *out = names;
    *count = n;
    names = NULL;
out:
    certa_trustpoint_names_free(names, n);
    if (d != NULL)
        closedir(d);
    return rc;
}

static int secret_check(const char *which)
{
    if (strcmp(which, "challenge") != 0 && strcmp(which, "cmp_secret") != 0)
        return certa_error_set(CERTA_EINVAL, "unknown trustpoint secret '%s'", which);
    return 0;
}

int certa_trustpoint_secret_set(const char *state, const char *name, const char *which, const char *value)
{
    char path[4096];
    struct stat st;
    int rc = secret_check(which);
    if (rc < 0 || (rc = certa_trustpoint_path(state, name, which, path, sizeof(path))) < 0)
        return rc;
    if (value == NULL)
        return stat(path, &st) == 0 ? certa_key_zeroize_file(path) : 0;
    size_t n = strlen(value);
    if (n == 0 || n > SECRET_MAX)
        return certa_error_set(CERTA_EINVAL, "%s must have 1 to %d characters", which, SECRET_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)value[i] < 0x20)
            return certa_error_set(CERTA_EINVAL, "%s contains a control character", which);
    return certa_file_write_atomic(path, value, n, 0600);
}

int certa_trustpoint_secret_get(const char *state, const char *name, const char *which, char **out)
{
    char path[4096];
    certa_buf b = { 0 };
    *out = NULL;
    int rc = secret_check(which);
    if (rc < 0 || (rc = certa_trustpoint_path(state, name, which, path, sizeof(path))) < 0)
        return rc;
    rc = certa_file_read(path, SECRET_MAX, &b);
    if (rc == CERTA_ENOTFOUND) {
        certa_error_clear();
        certa_buf_free(&b);
        return 0;
    }
    if (rc == 0) {
        *out = (char *)b.data; /* NUL-terminated by certa_file_read */
        return 0;
    }
    certa_buf_free_secure(&b);
    return rc;
}

int certa_trustpoint_read_certs(const char *state, const char *name, const char *file, STACK_OF(X509) **out)
{
    char path[4096];
    certa_buf b = { 0 };
    int rc;
    *out = sk_X509_new_null();
    if (*out == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    if ((rc = certa_trustpoint_path(state, name, file, path, sizeof(path))) < 0)
        return rc;
    rc = certa_file_read(path, CERTS_MAX, &b);
    if (rc == CERTA_ENOTFOUND) {
        certa_error_clear();
        certa_buf_free(&b);
        return 0;
    }
    if (rc < 0) {
        certa_buf_free(&b);
        return rc;
    }
    BIO *mem = BIO_new_mem_buf(b.data, (int)b.len);
    X509 *x;
    while (mem != NULL && (x = PEM_read_bio_X509(mem, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(*out, x)) {
            X509_free(x);
            rc = certa_error_set(CERTA_ENOMEM, "out of memory");
            break;
        }
    }
    ERR_clear_error();
    BIO_free(mem);
    certa_buf_free(&b);
    if (rc == 0 && sk_X509_num(*out) == 0)
        rc = certa_error_set(CERTA_EINVAL, "%s holds no PEM certificate", path);
    return rc;
}

int certa_cert_fingerprint(const X509 *cert, const char *md, char *out, size_t len)
{
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_MD *alg = EVP_MD_fetch(NULL, md, NULL);
    if (alg == NULL)
        return certa_error_ossl(CERTA_EUNSUPPORTED, "digest %s is not available", md);
    int ok = X509_digest(cert, alg, dig, &n);
    EVP_MD_free(alg);
    if (!ok)
        return certa_error_ossl(CERTA_ECRYPTO, "cannot compute the %s fingerprint", md);
    if (len < 3 * (size_t)n)
        return certa_error_set(CERTA_EINVAL, "fingerprint buffer too small");
    certa_hex_colons(dig, n, out);
    return 0;
}
