/* `certa ca authenticate` (IOS `crypto ca authenticate`) for every online
 * protocol: fetch the CA's certificates through the protocol's fetch_ca,
 * pick the CA and its RA certificates, hold the CA to the configured
 * fingerprint or to the operator's word, then store ca.pem and ra.pem. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "enroll.h"

/* The certificate's fingerprint as a pin reads: "alg:lowercasehex". */
static int pin_form(const X509 *x, const char *alg, char *out, size_t len)
{
    char fp[200];
    size_t n = 0;
    int rc = certa_cert_fingerprint(x, alg, fp, sizeof(fp));
    if (rc < 0)
        return rc;
    n = (size_t)snprintf(out, len, "%s:", alg);
    for (const char *p = fp; *p && n + 1 < len; p++)
        if (*p != ':')
            out[n++] = (char)tolower((unsigned char)*p);
    out[n] = '\0';
    return 0;
}

static int pick_ca(STACK_OF(X509) *certs, const char *pin, int *pick)
{
    char alg[8] = "sha256", have[200];
    const char *colon = pin != NULL ? strchr(pin, ':') : NULL;
    int first = -1;
    *pick = -1;
    if (colon != NULL)
        snprintf(alg, sizeof(alg), "%.*s", (int)(colon - pin), pin);
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *x = sk_X509_value(certs, i);
        if (X509_check_ca(x) == 0)
            continue;
        if (first < 0)
            first = i;
        if (pin != NULL && pin_form(x, alg, have, sizeof(have)) == 0 && strcmp(have, pin) == 0) {
            *pick = i;
            return 0;
        }
    }
    /* A CA certificate without basicConstraints (v1): alone, it is the CA. */
    if (first < 0 && sk_X509_num(certs) == 1)
        first = 0;
    if (first < 0)
        return certa_error_set(CERTA_EPROTO, "the CA sent %d certificates and none is a CA certificate",
                               sk_X509_num(certs));
    if (pin != NULL) {
        int rc = pin_form(sk_X509_value(certs, first), alg, have, sizeof(have));
        if (rc < 0)
            return rc;
        /* Neither one is the pinned certificate. */
        return certa_error_set(CERTA_EPOLICY, "fingerprint mismatch: the CA certificate's fingerprint is %s, the "
                               "trustpoint expects %s; nothing stored", have, pin);
    }
    *pick = first;
    /* Of several CA certificates, the one that issued the RA certificate
     * is the CA we talk to (the others are its chain). */
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *ra = sk_X509_value(certs, i);
        if (X509_check_ca(ra) != 0)
            continue;
        for (int j = 0; j < sk_X509_num(certs); j++)
            if (j != i && X509_check_ca(sk_X509_value(certs, j)) != 0 &&
                X509_check_issued(sk_X509_value(certs, j), ra) == X509_V_OK) {
                *pick = j;
                return 0;
            }
    }
    return 0;
}

static int pem_append(certa_buf *out, X509 *x)
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *data = NULL;
    int rc = 0;
    if (mem == NULL || !PEM_write_bio_X509(mem, x)) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot encode a certificate");
    } else {
        /* Separate statements: the order in which arguments are evaluated
         * is unspecified, and data must be read after the call sets it. */
        long n = BIO_get_mem_data(mem, &data);
        rc = certa_buf_append(out, data, (size_t)n);
    }
    BIO_free(mem);
    return rc;
}

static int install(const char *state, const char *name, X509 *ca, STACK_OF(X509) *ra)
{
    certa_buf ca_pem = { 0 }, ra_pem = { 0 };
    char path[4096];
    int rc;
    if ((rc = pem_append(&ca_pem, ca)) < 0)
        goto out;
    for (int i = 0; i < sk_X509_num(ra); i++)
        if ((rc = pem_append(&ra_pem, sk_X509_value(ra, i))) < 0)
            goto out;
    if ((rc = certa_trustpoint_path(state, name, NULL, path, sizeof(path))) < 0 ||
        (rc = certa_mkdir_p(path, 0700)) < 0 || (rc = certa_trustpoint_path(state, name, "ra.pem", path,
                                                                          sizeof(path))) < 0)
        goto out;
    /* RA first: a ca.pem in place never sits beside a stale ra.pem. */
    if (ra_pem.len > 0)
        rc = certa_file_write_atomic(path, ra_pem.data, ra_pem.len, 0644);
    else if (unlink(path) != 0 && errno != ENOENT)
        rc = certa_error_set(CERTA_EIO, "cannot remove the old %s: %s", path, strerror(errno));
    if (rc < 0 || (rc = certa_trustpoint_path(state, name, "ca.pem", path, sizeof(path))) < 0)
        goto out;
    rc = certa_file_write_atomic(path, ca_pem.data, ca_pem.len, 0644);
out:
    certa_buf_free(&ca_pem);
    certa_buf_free(&ra_pem);
    return rc;
}

int certa_ca_authenticate(const char *state, const char *name, certa_ca_confirm_fn confirm, void *arg)
{
    struct certa_trustpoint tp;
    struct certa_enroll_ctx ctx = { .state_dir = state, .tp = &tp };
    STACK_OF(X509) *certs = NULL, *ra = sk_X509_new_null();
    int pick, rc;
    if (ra == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    if ((rc = certa_trustpoint_load(state, name, &tp)) < 0)
        goto out;
    const struct certa_enroll_protocol *proto = certa_enroll_protocol_find(tp.protocol);
    if (proto == NULL || proto->fetch_ca == NULL) {
        rc = strcmp(tp.protocol, "manual") == 0
                 ? certa_error_set(CERTA_EINVAL, "trustpoint %s enrolls manually: install its CA with "
                                   "`certa import %s FILE --ca`", name, name)
                 : certa_error_set(CERTA_EUNSUPPORTED, "fetching the CA over %s is not available in this build",
                                   tp.protocol);
        goto out;
    }
    certa_enroll_route(&tp, &ctx.route);
    if ((rc = proto->fetch_ca(&ctx, &certs)) < 0)
        goto out;
    if ((rc = pick_ca(certs, tp.fingerprint[0] ? tp.fingerprint : NULL, &pick)) < 0)
        goto out;
    X509 *ca = sk_X509_value(certs, pick);
    /* The pin covers the CA; an RA certificate is trusted because the CA
     * signed it. */
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *x = sk_X509_value(certs, i);
        if (i == pick || X509_check_ca(x) != 0)
            continue;
        if (X509_check_issued(ca, x) != X509_V_OK || X509_verify(x, X509_get0_pubkey(ca)) != 1) {
            char *subj = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
            rc = certa_error_set(CERTA_EPOLICY, "the RA certificate %s is not signed by the CA; nothing stored",
                                 subj ? subj : "?");
            OPENSSL_free(subj);
            goto out;
        }
        if (!sk_X509_push(ra, x)) {
            rc = certa_error_set(CERTA_ENOMEM, "out of memory");
            goto out;
        }
    }
    struct certa_ca_offer offer = { .trustpoint = name, .ca = ca, .ra = ra,
                                    .pin = tp.fingerprint[0] ? tp.fingerprint : NULL };
    if ((rc = confirm(&offer, arg)) < 0)
        goto out;
    if (rc == 0) {
        rc = certa_error_set(CERTA_EPOLICY, "the CA certificate was not accepted; nothing stored");
        goto out;
    }
    rc = install(state, name, ca, ra);
out:
    ERR_clear_error();
    sk_X509_free(ra);
    sk_X509_pop_free(certs, X509_free);
    return rc;
}
