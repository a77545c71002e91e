/* Enrollment: building a trustpoint's request from its key and settings,
 * offline enrollment (the request goes out by hand), and dispatch of online
 * enrollment to the protocol named by the trustpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include "certa/csr.h"
#include "certa/keystore.h"
#include "enroll.h"

/* Protocol modules add themselves here as they arrive. */
static const struct certa_enroll_protocol *const protocols[] = {
    &certa_enroll_scep,
    &certa_enroll_cmp,
    NULL,
};

const struct certa_enroll_protocol *certa_enroll_protocol_find(const char *name)
{
    for (size_t i = 0; protocols[i] != NULL; i++)
        if (strcmp(protocols[i]->name, name) == 0)
            return protocols[i];
    return NULL;
}

static int key_for(const char *state, const struct certa_trustpoint *tp, int encr, EVP_PKEY **key)
{
    const char *label = certa_trustpoint_key_label(tp);
    int rc;
    enum certa_keystore_role role = encr ? CERTA_KEYROLE_ENCR : CERTA_KEYROLE_ANY;
    struct certa_keystore_entry e;
    if (certa_keystore_stat(state, label, &e) == 0) {
        if (encr && e.kind != CERTA_KEYSTORE_USAGE)
            return certa_error_set(CERTA_EINVAL, "key pair '%s' is general-purpose: it has no encryption key", label);
        return certa_keystore_load(state, label, role, key);
    }
    certa_error_clear();
    /* IOS generates the trustpoint's key pair on first enrollment. */
    char spec[32];
    /* A key size names an RSA modulus, whatever the key type says. */
    if (tp->key_size > 0)
        snprintf(spec, sizeof(spec), "rsa:%d", tp->key_size);
    /* SCEP CAs encrypt their answer to the requester's key, which EC cannot
     * receive in PKCS#7: the default type becomes RSA there. */
    else if (strcmp(tp->protocol, "scep") == 0 && (!tp->key_type[0] || strcmp(tp->key_type, "ec:p256") == 0))
        snprintf(spec, sizeof(spec), "rsa:2048");
    else
        snprintf(spec, sizeof(spec), "%s", tp->key_type[0] ? tp->key_type : "ec:p256");
    if (encr && !tp->usage_keys)
        return certa_error_set(CERTA_EINVAL, "trustpoint %s does not use usage keys (set --usage-keys)", tp->name);
    if ((rc = certa_keystore_generate(state, label, spec, tp->usage_keys, 0)) < 0)
        return rc;
    return certa_keystore_load(state, label, role, key);
}

int certa_enroll_prepare(const char *state, const struct certa_trustpoint *tp, int encr, const char *challenge,
                         EVP_PKEY **key, X509_REQ **req)
{
    char subject[CERTA_TP_VALUE_MAX + 300];
    const char *sans[CERTA_TP_MAX_SANS];
    struct certa_csr_params p = { 0 };
    int rc;
    *key = NULL;
    *req = NULL;
    if ((rc = certa_trustpoint_subject(tp, subject, sizeof(subject))) < 0)
        return rc;
    p.subject = subject;
    for (size_t i = 0; i < tp->san_count; i++)
        sans[i] = tp->sans[i];
    p.sans = sans;
    p.san_count = tp->san_count;
    if (tp->key_usage[0] && (rc = certa_usage_parse(tp->key_usage, &p.usages)) < 0)
        return rc;
    p.digest = tp->digest[0] ? tp->digest : NULL;
    p.legacy = tp->legacy;
    p.challenge = challenge;
    if ((rc = key_for(state, tp, encr, key)) < 0)
        return rc;
    rc = certa_csr_create(*key, &p, req);
    if (rc < 0) {
        EVP_PKEY_free(*key);
        *key = NULL;
    }
    return rc;
}

static void challenge_free(char *challenge)
{
    if (challenge != NULL) {
        certa_memzero(challenge, strlen(challenge));
        free(challenge);
    }
}

int certa_enroll_offline(const char *state, const char *name, int encr, certa_buf *pem)
{
    struct certa_trustpoint tp;
    EVP_PKEY *key = NULL;
    X509_REQ *req = NULL;
    char *challenge = NULL;
    char path[4096];
    int rc = certa_trustpoint_load(state, name, &tp);
    if (rc < 0)
        return rc;
    if ((rc = certa_trustpoint_secret_get(state, name, "challenge", &challenge)) < 0 ||
        (rc = certa_enroll_prepare(state, &tp, encr, challenge, &key, &req)) < 0)
        goto out;
    BIO *mem = BIO_new(BIO_s_mem());
    char *data = NULL;
    if (mem == NULL || !PEM_write_bio_X509_REQ(mem, req)) {
        BIO_free(mem);
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot encode the request");
        goto out;
    }
    long len = BIO_get_mem_data(mem, &data);
    rc = certa_buf_append(pem, data, (size_t)len);
    BIO_free(mem);
    if (rc < 0)
        goto out;
    /* Kept so that `show certificates` can report the request Pending
     * (trustpoint "default" gets its directory on first use). */
    if ((rc = certa_trustpoint_path(state, name, NULL, path, sizeof(path))) < 0 ||
        (rc = certa_mkdir_p(path, 0700)) < 0 ||
        (rc = certa_trustpoint_path(state, name, encr ? "request-encr.pem" : "request.pem", path,
                                     sizeof(path))) < 0)
        goto out;
    rc = certa_file_write_atomic(path, pem->data, pem->len, 0644);
out:
    challenge_free(challenge);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    return rc;
}

static int online(const char *state, const char *name, int resume, int flags)
{
    struct certa_trustpoint tp;
    struct certa_enroll_ctx ctx = { .state_dir = state, .tp = &tp, .resume = resume, .flags = flags };
    char *challenge = NULL;
    int rc = certa_trustpoint_load(state, name, &tp);
    if (rc < 0)
        return rc;
    if (strcmp(tp.protocol, "manual") == 0)
        return certa_error_set(CERTA_EINVAL, "trustpoint %s enrolls manually: use `certa enroll %s --offline` "
                               "and `certa import %s FILE`", name, name, name);
    const struct certa_enroll_protocol *proto = certa_enroll_protocol_find(tp.protocol);
    if (proto == NULL)
        return certa_error_set(CERTA_EUNSUPPORTED, "enrollment over %s is not available in this build "
                               "(use --offline)", tp.protocol);
    /* The challenge travels inside the request (challengePassword). */
    if ((rc = certa_trustpoint_secret_get(state, name, "challenge", &challenge)) < 0 ||
        (rc = certa_enroll_prepare(state, &tp, 0, challenge, &ctx.key, &ctx.req)) < 0)
        goto out;
    certa_enroll_route(&tp, &ctx.route);
    rc = proto->enroll(&ctx);
out:
    challenge_free(challenge);
    X509_REQ_free(ctx.req);
    EVP_PKEY_free(ctx.key);
    return rc;
}

int certa_enroll_online(const char *state, const char *name)
{
    return online(state, name, 0, 0);
}

int certa_enroll_online_flags(const char *state, const char *name, int flags)
{
    return online(state, name, 0, flags);
}

int certa_enroll_resume(const char *state, const char *name)
{
    return online(state, name, 1, 0);
}

void certa_enroll_route(const struct certa_trustpoint *tp, struct certa_http_route *route)
{
    memset(route, 0, sizeof(*route));
    route->source_ip = tp->source_ip;
    route->interface = tp->interface;
    route->vrf = tp->vrf;
    route->netns = tp->netns;
    route->proxy = tp->proxy;
}

int certa_enroll_revoke(const char *state, const char *name, int reason)
{
    struct certa_trustpoint tp;
    struct certa_enroll_ctx ctx = { .state_dir = state, .tp = &tp };
    int rc = certa_trustpoint_load(state, name, &tp);
    if (rc < 0)
        return rc;
    const struct certa_enroll_protocol *proto = certa_enroll_protocol_find(tp.protocol);
    if (proto == NULL || proto->revoke == NULL)
        return certa_error_set(CERTA_EUNSUPPORTED, "trustpoint %s enrolls over %s, which cannot ask for "
                               "revocation (revoke at the CA)", name, tp.protocol);
    /* rr is signed with the certificate and its key. */
    if ((rc = certa_keystore_load(state, certa_trustpoint_key_label(&tp), CERTA_KEYROLE_ANY, &ctx.key)) < 0)
        return rc;
    certa_enroll_route(&tp, &ctx.route);
    rc = proto->revoke(&ctx, reason);
    EVP_PKEY_free(ctx.key);
    return rc;
}
