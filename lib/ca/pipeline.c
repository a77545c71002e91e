/* The issuance pipeline: request -> profile policy -> issue | pending |
 * reject -> build from the profile, sign -> record durably -> return.
 * Every front door (CLI, SCEP, CMP, EST) calls certa_ca_submit[_batch];
 * manual approval, rejection and polling live here too. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "certa/csr.h"
#include "certa/log.h"
#include "ca_internal.h"

#define SERIAL_RETRIES 8

void certa_issue_result_clear(struct certa_issue_result *r)
{
    if (r == NULL)
        return;
    X509_free(r->cert);
    memset(r, 0, sizeof(*r));
}

void certa_ca_set_revoke_hook(certa_ca *ca, certa_ca_revoke_hook hook, void *arg)
{
    ca->hook = hook;
    ca->hook_arg = arg;
}

void certa_ca_notify_revoked(certa_ca *ca, const char *serial)
{
    if (ca->hook != NULL)
        ca->hook(ca, serial, ca->hook_arg);
}

/* Signs and inserts the certificate row; a serial collision re-signs with a
 * fresh serial. Inside the caller's transaction. */
static int issue_and_record(certa_ca *ca, const certa_profile *p, const struct certa_request *req,
                            int64_t request_id, X509 **out, char serial[CERTA_SERIAL_HEX_MAX])
{
    int rc = 0;
    *out = NULL;
    for (int attempt = 0; attempt < SERIAL_RETRIES; attempt++) {
        X509 *x = NULL;
        if ((rc = certa_build_cert(ca, p, req, &x, serial)) < 0)
            return rc;
        rc = certa_ca_record_cert(ca, x, p->name, request_id);
        if (rc == 0) {
            *out = x;
            return 0;
        }
        X509_free(x);
        if (rc != CERTA_EEXIST)
            return rc;
    }
    return certa_error_set(CERTA_ESTORE, "no unused serial number after %d attempts", SERIAL_RETRIES);
}

static int store_request(certa_ca *ca, const certa_profile *p, const struct certa_request *req,
                         int status, const char *serial, int64_t *id)
{
    certa_buf body = { 0 };
    int rc = certa_request_serialize(req, &body);
    if (rc < 0)
        return rc;
    struct certa_request_row row = { 0 };
    row.status = status;
    row.protocol = (char *)(req->protocol ? req->protocol : "cli");
    row.profile = p->name;
    row.subject = certa_name_text(req->subject);
    row.requester = (char *)(req->requester ? req->requester : "");
    row.transaction_id = (char *)req->transaction_id;
    row.serial = (char *)serial;
    row.created_at = row.updated_at = (int64_t)time(NULL);
    row.body = body.data;
    row.body_len = body.len;
    if (row.subject == NULL)
        rc = certa_error_set(CERTA_ENOMEM, "out of memory");
    else
        rc = certa_store_request_insert(ca->store, &row);
    *id = row.id;
    free(row.subject);
    certa_buf_free(&body);
    return rc;
}

void certa_ca_prepared_clear(struct certa_ca_prepared *pp)
{
    if (pp == NULL)
        return;
    certa_issue_result_clear(&pp->res);
    certa_cert_row_clear(&pp->row);
    memset(pp, 0, sizeof(*pp));
}

int certa_ca_prepare(certa_ca *ca, const struct certa_request *req, struct certa_ca_prepared *out)
{
    memset(out, 0, sizeof(*out));
    out->req = req;
    struct certa_issue_result *res = &out->res;
    const certa_profile *p = certa_ca_profile(ca, req->profile);
    if (p == NULL)
        return CERTA_ENOTFOUND;
    if (ca->key == NULL)
        return certa_error_set(CERTA_ESTATE, "the CA was opened read-only: cannot issue");
    int rc = certa_policy_check(ca, p, req, &res->reject_kind, res->reason, sizeof(res->reason));
    if (rc < 0)
        return rc;
    if (rc > 0) {
        res->decision = CERTA_DECISION_REJECTED;
        certa_log(CERTA_LOG_INFO, "request refused: %s", res->reason);
        return 0;
    }
    if (p->manual && !req->preapproved) {
        res->decision = CERTA_DECISION_PENDING;
        return 0;
    }
    if ((rc = certa_build_cert(ca, p, req, &res->cert, out->serial)) < 0 ||
        (rc = certa_ca_cert_row_fill(res->cert, &out->row)) < 0) {
        certa_issue_result_clear(res);
        return rc;
    }
    res->decision = CERTA_DECISION_ISSUED;
    return 0;
}

int certa_ca_record_prepared(certa_ca *ca, struct certa_ca_prepared *pp)
{
    const struct certa_request *req = pp->req;
    struct certa_issue_result *res = &pp->res;
    const certa_profile *p = certa_ca_profile(ca, req->profile);
    if (p == NULL)
        return CERTA_ENOTFOUND;
    switch (res->decision) {
    case CERTA_DECISION_REJECTED:
        return 0;
    case CERTA_DECISION_PENDING:
        return store_request(ca, p, req, CERTA_REQ_PENDING, NULL, &res->request_id);
    default:
        break;
    }
    int rc = 0;
    /* Stored so that a protocol poll for this transaction finds it. */
    if (req->transaction_id != NULL &&
        (rc = store_request(ca, p, req, CERTA_REQ_ISSUED, pp->serial, &res->request_id)) < 0)
        return rc;
    rc = certa_ca_record_row(ca, &pp->row, p->name, res->request_id);
    if (rc == CERTA_EEXIST) {
        /* The random serial exists already: sign afresh with another. */
        X509_free(res->cert);
        res->cert = NULL;
        if ((rc = issue_and_record(ca, p, req, res->request_id, &res->cert, pp->serial)) == 0 &&
            req->transaction_id != NULL)
            rc = certa_store_request_finish(ca->store, res->request_id, CERTA_REQ_ISSUED, pp->serial, NULL);
    }
    return rc;
}

/* One request inside an open transaction. Unknown profile and internal
 * failures are negative; policy outcomes are in res. */
static int decide_one(certa_ca *ca, const struct certa_request *req, struct certa_issue_result *res)
{
    struct certa_ca_prepared pp;
    int rc = certa_ca_prepare(ca, req, &pp);
    if (rc == 0)
        rc = certa_ca_record_prepared(ca, &pp);
    if (rc < 0) {
        certa_ca_prepared_clear(&pp);
        memset(res, 0, sizeof(*res));
        return rc;
    }
    *res = pp.res;      /* the certificate changes owner */
    certa_cert_row_clear(&pp.row);
    return 0;
}

int certa_ca_submit_batch_in_txn(certa_ca *ca, const struct certa_request *const *reqs, size_t n,
                                 struct certa_issue_result *res)
{
    for (size_t i = 0; i < n; i++)
        memset(&res[i], 0, sizeof(res[i]));
    /* Unknown profiles fail the whole batch before anything is signed. */
    for (size_t i = 0; i < n; i++)
        if (certa_ca_profile(ca, reqs[i]->profile) == NULL)
            return CERTA_ENOTFOUND;
    if (ca->key == NULL)
        return certa_error_set(CERTA_ESTATE, "the CA was opened read-only: cannot issue");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = decide_one(ca, reqs[i], &res[i]);
    if (rc < 0)
        for (size_t i = 0; i < n; i++)
            certa_issue_result_clear(&res[i]);
    return rc;
}

int certa_ca_submit_batch(certa_ca *ca, const struct certa_request *const *reqs, size_t n,
                          struct certa_issue_result *res)
{
    for (size_t i = 0; i < n; i++)
        memset(&res[i], 0, sizeof(res[i]));
    int rc = certa_store_begin(ca->store);
    if (rc < 0)
        return rc;
    rc = certa_ca_submit_batch_in_txn(ca, reqs, n, res);
    /* Durable before anyone sees a certificate. */
    if (rc == 0)
        rc = certa_store_commit(ca->store);
    if (rc < 0) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", certa_error_last());
        certa_store_rollback(ca->store);
        for (size_t i = 0; i < n; i++)
            certa_issue_result_clear(&res[i]);
        certa_error_set(rc, "%s", msg);
    }
    return rc;
}

int certa_ca_submit(certa_ca *ca, const struct certa_request *req, struct certa_issue_result *res)
{
    const struct certa_request *one[1] = { req };
    return certa_ca_submit_batch(ca, one, 1, res);
}

int certa_ca_approve(certa_ca *ca, int64_t request_id, X509 **cert_out)
{
    struct certa_request_row row = { 0 };
    struct certa_stored_request sr = { 0 };
    X509 *x = NULL;
    if (cert_out)
        *cert_out = NULL;
    if (ca->key == NULL)
        return certa_error_set(CERTA_ESTATE, "the CA was opened read-only: cannot issue");
    int rc = certa_store_request_get(ca->store, request_id, &row);
    if (rc < 0)
        return rc;
    if (row.status != CERTA_REQ_PENDING) {
        rc = certa_error_set(CERTA_ESTATE, "request %lld is not pending (already %s)", (long long)request_id,
                             row.status == CERTA_REQ_ISSUED ? "issued" : "rejected");
        goto out;
    }
    if ((rc = certa_request_deserialize(row.body, row.body_len, &sr)) < 0)
        goto out;
    const certa_profile *p = certa_ca_profile(ca, row.profile);
    if (p == NULL) {
        rc = CERTA_ENOTFOUND;
        goto out;
    }
    /* The profile may have changed since the request came in. */
    int kind;
    char reason[256];
    if ((rc = certa_policy_check(ca, p, &sr.req, &kind, reason, sizeof(reason))) != 0) {
        if (rc > 0)
            rc = certa_error_set(CERTA_EPOLICY, "request %lld: %s", (long long)request_id, reason);
        goto out;
    }
    char serial[CERTA_SERIAL_HEX_MAX];
    if ((rc = certa_store_begin(ca->store)) < 0)
        goto out;
    rc = issue_and_record(ca, p, &sr.req, request_id, &x, serial);
    if (rc == 0)
        rc = certa_store_request_finish(ca->store, request_id, CERTA_REQ_ISSUED, serial, NULL);
    if (rc == 0)
        rc = certa_store_commit(ca->store);
    if (rc < 0) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", certa_error_last());
        certa_store_rollback(ca->store);
        certa_error_set(rc, "%s", msg);
        goto out;
    }
    if (cert_out) {
        *cert_out = x;
        x = NULL;
    }
out:
    X509_free(x);
    certa_stored_request_clear(&sr);
    certa_request_row_clear(&row);
    return rc;
}

int certa_ca_reject(certa_ca *ca, int64_t request_id, const char *reason)
{
    struct certa_request_row row = { 0 };
    int rc = certa_store_request_get(ca->store, request_id, &row);
    if (rc < 0)
        return rc;
    if (row.status != CERTA_REQ_PENDING)
        rc = certa_error_set(CERTA_ESTATE, "request %lld is not pending (already %s)", (long long)request_id,
                             row.status == CERTA_REQ_ISSUED ? "issued" : "rejected");
    else
        rc = certa_store_request_finish(ca->store, request_id, CERTA_REQ_REJECTED,
                                        NULL, reason && reason[0] ? reason : "rejected by the operator");
    certa_request_row_clear(&row);
    return rc;
}

int certa_ca_find_cert(certa_ca *ca, const char *serial, X509 **out)
{
    char norm[CERTA_SERIAL_HEX_MAX];
    struct certa_cert_row row = { 0 };
    *out = NULL;
    int rc = certa_serial_normalize(serial, norm, sizeof(norm));
    if (rc < 0)
        return rc;
    if ((rc = certa_store_cert_get(ca->store, norm, &row)) < 0)
        return rc;
    const unsigned char *p = row.der;
    *out = d2i_X509(NULL, &p, (long)row.der_len);
    certa_cert_row_clear(&row);
    if (*out == NULL)
        return certa_error_ossl(CERTA_ESTORE, "certificate %s in the store does not decode", norm);
    return 0;
}

int certa_ca_poll(certa_ca *ca, const char *protocol, const char *transaction_id,
                  struct certa_issue_result *res)
{
    struct certa_request_row row = { 0 };
    memset(res, 0, sizeof(*res));
    int rc = certa_store_request_find_txn(ca->store, protocol, transaction_id, &row);
    if (rc < 0)
        return rc;
    res->request_id = row.id;
    switch (row.status) {
    case CERTA_REQ_PENDING:
        res->decision = CERTA_DECISION_PENDING;
        break;
    case CERTA_REQ_ISSUED:
        res->decision = CERTA_DECISION_ISSUED;
        rc = row.serial ? certa_ca_find_cert(ca, row.serial, &res->cert)
                        : certa_error_set(CERTA_ESTORE, "issued request %lld has no serial", (long long)row.id);
        break;
    default:
        res->decision = CERTA_DECISION_REJECTED;
        res->reject_kind = CERTA_REJECT_OPERATOR;
        snprintf(res->reason, sizeof(res->reason), "%s", row.reason ? row.reason : "rejected");
        break;
    }
    certa_request_row_clear(&row);
    return rc;
}
