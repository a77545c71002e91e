/* The SCEP transaction a trustpoint waits on (CertRep PENDING), kept in
 * STATE/trustpoints/NAME/scep-pending so that an interrupted poll can be
 * picked back up: the transactionID, whether it was a RenewalReq, the
 * certificate the request was signed with and the request itself. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "scep_client.h"

#define PENDING_FILE "scep-pending"
#define PENDING_MAX (64 * 1024)

void certa_scep_pending_clear(struct scep_pending *p)
{
    X509_free(p->signer);
    X509_REQ_free(p->req);
    memset(p, 0, sizeof(*p));
}

int certa_scep_pending_load(const char *state, const char *name, struct scep_pending *p)
{
    char path[4096];
    certa_buf data = { 0 };
    BIO *mem = NULL;
    int rc;
    memset(p, 0, sizeof(*p));
    if ((rc = certa_trustpoint_path(state, name, PENDING_FILE, path, sizeof(path))) < 0)
        return rc;
    if (access(path, F_OK) != 0)
        return certa_error_set(CERTA_ENOTFOUND, "trustpoint %s has no pending SCEP enrollment to resume", name);
    if ((rc = certa_file_read(path, PENDING_MAX, &data)) < 0)
        return rc;
    char *text = (char *)data.data;
    int renewal = -1;
    if (sscanf(text, "transaction=%63[0-9A-Za-z_-]\nrenewal=%d\n", p->transaction_id, &renewal) != 2 ||
        (renewal != 0 && renewal != 1)) {
        rc = certa_error_set(CERTA_EINVAL, "%s is corrupt (no transaction line)", path);
        goto out;
    }
    p->renewal = renewal;
    if ((mem = BIO_new_mem_buf(data.data, (int)data.len)) == NULL) {
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
        goto out;
    }
    if ((p->signer = PEM_read_bio_X509(mem, NULL, NULL, NULL)) == NULL ||
        (p->req = PEM_read_bio_X509_REQ(mem, NULL, NULL, NULL)) == NULL) {
        rc = certa_error_set(CERTA_EINVAL, "%s is corrupt (certificate or request unreadable)", path);
        goto out;
    }
out:
    ERR_clear_error();
    BIO_free(mem);
    certa_buf_free_secure(&data);
    if (rc < 0)
        certa_scep_pending_clear(p);
    return rc;
}

int certa_scep_pending_save(const char *state, const char *name, const struct scep_pending *p)
{
    char path[4096];
    BIO *mem = BIO_new(BIO_s_mem());
    char *data = NULL;
    int rc;
    if (mem == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory");
    if (BIO_printf(mem, "transaction=%s\nrenewal=%d\n", p->transaction_id, p->renewal) <= 0 ||
        !PEM_write_bio_X509(mem, p->signer) || !PEM_write_bio_X509_REQ(mem, p->req)) {
        rc = certa_error_ossl(CERTA_ECRYPTO, "cannot encode the pending SCEP transaction");
        goto out;
    }
    long n = BIO_get_mem_data(mem, &data);
    if ((rc = certa_trustpoint_path(state, name, PENDING_FILE, path, sizeof(path))) < 0)
        goto out;
    rc = certa_file_write_atomic(path, data, (size_t)n, 0600);
out:
    BIO_free(mem);
    return rc;
}

int certa_scep_pending_remove(const char *state, const char *name)
{
    char path[4096];
    int rc = certa_trustpoint_path(state, name, PENDING_FILE, path, sizeof(path));
    if (rc < 0)
        return rc;
    if (unlink(path) != 0 && errno != ENOENT)
        return certa_error_set(CERTA_EIO, "cannot remove %s: %s", path, strerror(errno));
    return 0;
}
