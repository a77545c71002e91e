/* `certa ca rollover`: fetches the trustpoint's next root CA certificate
 * (CMP root CA update) and keeps it beside the current one as next-ca.pem,
 * for the operator to act on when the CA switches; ca.pem stays. */
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "certa/keystore.h"
#include "enroll.h"

static int store_next(const char *state, const char *name, X509 *next)
{
    char path[4096];
    BIO *mem = BIO_new(BIO_s_mem());
    char *data = NULL;
    int rc;
    if (mem == NULL || !PEM_write_bio_X509(mem, next)) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot encode the new CA certificate");
        goto out;
    }
    long n = BIO_get_mem_data(mem, &data);
    if ((rc = certa_trustpoint_path(state, name, "next-ca.pem", path, sizeof(path))) < 0)
        goto out;
    rc = certa_file_write_atomic(path, data, (size_t)n, 0644);
out:
    BIO_free(mem);
    return rc;
}

int certa_ca_rollover(const char *state, const char *name, X509 **next, X509 **new_with_old)
{
    struct certa_trustpoint tp;
    struct certa_enroll_ctx ctx = { .state_dir = state, .tp = &tp };
    *next = *new_with_old = NULL;
    int rc = certa_trustpoint_load(state, name, &tp);
    if (rc < 0)
        return rc;
    if (strcmp(tp.protocol, "cmp") != 0)
        return certa_error_set(CERTA_EUNSUPPORTED, "trustpoint %s uses %s: a root CA update needs protocol cmp",
                               name, tp.protocol);
    /* With a certificate from this CA, the genm is signed with it (a
     * one-time secret is spent by then); without one, the trustpoint's
     * MAC secret or identity certificate protects it. */
    if (certa_keystore_load(state, certa_trustpoint_key_label(&tp), CERTA_KEYROLE_ANY, &ctx.key) < 0) {
        ctx.key = NULL;
        certa_error_clear();
    }
    certa_enroll_route(&tp, &ctx.route);
    rc = certa_enroll_cmp_root_update(&ctx, next, new_with_old);
    EVP_PKEY_free(ctx.key);
    if (rc < 0 || *next == NULL)
        return rc;
    if ((rc = store_next(state, name, *next)) < 0) {
        X509_free(*next);
        X509_free(*new_with_old);
        *next = *new_with_old = NULL;
    }
    ERR_clear_error();
    return rc;
}
