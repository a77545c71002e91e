/* Delegated OCSP signer: its profile section, and its issuance through the
 * ordinary pipeline (preapproved operator request) into DIR/ocsp.key and
 * DIR/ocsp.crt, where the OCSP responder finds it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/pem.h>
#include "certa/ca_ocsp.h"
#include "certa/key.h"
#include "ca_internal.h"

static const char profile_text[] =
"\n"
"# Delegated OCSP signer (certa ca ocsp-signer): id-kp-OCSPSigning and\n"
"# id-pkix-ocsp-nocheck. Manual approval keeps every enrollment protocol\n"
"# from obtaining one; the operator's command preapproves its own request.\n"
"[profile " CERTA_OCSP_SIGNER_PROFILE "]\n"
"days = 365\n"
"key_usage = digitalSignature\n"
"extended_key_usage = ocsp-signing\n"
"ocsp_nocheck = yes\n"
"key_types = rsa:2048-4096 ec:p256 ec:p384 ed25519\n"
"subject = CN\n"
"san =\n"
"digest = sha256\n"
"approval = manual\n";

int certa_ca_ocsp_signer_profile_add(const char *dir)
{
    char path[4096];
    certa_buf conf = { 0 };
    struct certa_conf parsed = { 0 };
    snprintf(path, sizeof(path), "%s/ca.conf", dir);
    int rc = certa_file_read(path, CERTA_CA_CONF_MAX, &conf);
    if (rc < 0)
        return rc;
    if ((rc = certa_conf_parse((const char *)conf.data, path, &parsed)) < 0)
        goto out;
    for (size_t i = 0; i < parsed.n; i++) {
        const char *s = parsed.e[i].section;
        if (strncmp(s, "profile ", 8) == 0 && strcmp(s + 8 + strspn(s + 8, " "),
                                                     CERTA_OCSP_SIGNER_PROFILE) == 0) {
            rc = 0;
            goto out;
        }
    }
    if (conf.len > 0 && conf.data[conf.len - 1] != '\n' && (rc = certa_buf_append(&conf, "\n", 1)) < 0)
        goto out;
    if ((rc = certa_buf_append(&conf, profile_text, sizeof(profile_text) - 1)) < 0 ||
        (rc = certa_file_write_atomic(path, conf.data, conf.len, 0644)) < 0)
        goto out;
    rc = 1;
out:
    certa_conf_clear(&parsed);
    certa_buf_free(&conf);
    return rc;
}

int certa_ca_ocsp_signer_issue(certa_ca *ca, EVP_PKEY *given, int days, X509 **cert_out)
{
    EVP_PKEY *key = NULL;
    X509_NAME *subject = X509_NAME_new();
    struct certa_issue_result res = { 0 };
    char cn[256], path[4096];
    int rc;
    if (cert_out != NULL)
        *cert_out = NULL;
    if (days < 1 || days > 36500) {
        rc = certa_error_set(CERTA_EINVAL, "%d days is not a validity in 1..36500", days);
        goto out;
    }
    if (certa_ca_profile(ca, CERTA_OCSP_SIGNER_PROFILE) == NULL) {
        rc = certa_error_set(CERTA_ENOTFOUND, "%s/ca.conf has no [profile %s]", certa_ca_dir(ca),
                             CERTA_OCSP_SIGNER_PROFILE);
        goto out;
    }
    snprintf(cn, sizeof(cn), "%s OCSP signer", certa_ca_name(ca));
    if (subject == NULL ||
        !X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8, (unsigned char *)cn, -1, -1, 0)) {
        rc = certa_error_ossl(CERTA_ENOMEM, "building the signer's subject");
        goto out;
    }
    if (given != NULL && EVP_PKEY_up_ref(given))
        key = given;
    else if ((rc = certa_key_generate("ec:p256", &key)) < 0)
        goto out;
    struct certa_request req = {
        .subject = subject, .pubkey = key, .profile = CERTA_OCSP_SIGNER_PROFILE,
        .protocol = "cli", .requester = "operator", .preapproved = 1,
        .not_after = (int64_t)time(NULL) + (int64_t)days * 86400,
    };
    if ((rc = certa_ca_submit(ca, &req, &res)) < 0)
        goto out;
    if (res.decision != CERTA_DECISION_ISSUED) {
        rc = certa_error_set(CERTA_EPOLICY, "the OCSP signer was refused: %s",
                             res.reason[0] ? res.reason : "not issued");
        goto out;
    }
    /* Key first: a certificate without its key is never left behind. */
    snprintf(path, sizeof(path), "%s/ocsp.key", certa_ca_dir(ca));
    if ((rc = certa_key_save(key, path, CERTA_FORMAT_PEM, NULL)) < 0)
        goto out;
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL || !PEM_write_bio_X509(b, res.cert)) {
        BIO_free(b);
        rc = certa_error_ossl(CERTA_ENOMEM, "encoding the signer certificate");
        goto out;
    }
    char *pem;
    long len = BIO_get_mem_data(b, &pem);
    snprintf(path, sizeof(path), "%s/ocsp.crt", certa_ca_dir(ca));
    rc = certa_file_write_atomic(path, pem, (size_t)len, 0644);
    BIO_free(b);
    if (rc < 0)
        goto out;
    if (cert_out != NULL) {
        *cert_out = res.cert;
        res.cert = NULL;
    }
out:
    certa_issue_result_clear(&res);
    EVP_PKEY_free(key);
    X509_NAME_free(subject);
    return rc;
}
