/* The store front end: picks an implementation from the URI and forwards
 * every call through its ops table, so callers never depend on one engine.
 * Also the row clean-up helpers shared by all implementations. */
#include <stdlib.h>
#include <string.h>
#include "certa/store.h"
#include "store/store_impl.h"

int certa_store_open(const char *uri, int flags, certa_store **out)
{
    if (uri == NULL || *uri == '\0' || out == NULL)
        return certa_error_set(CERTA_EINVAL, "no store location given");
    *out = NULL;
    if (strncmp(uri, "sqlite:", 7) == 0)
        return certa_store_sqlite_open(uri + 7, flags, out);
    if (strncmp(uri, "postgresql:", 11) == 0 || strncmp(uri, "postgres:", 9) == 0)
        return certa_error_set(CERTA_EUNSUPPORTED,
                               "PostgreSQL stores are not supported by this build yet");
    if (strstr(uri, "://") != NULL)
        return certa_error_set(CERTA_EUNSUPPORTED, "unknown store type in '%s'", uri);
    return certa_store_sqlite_open(uri, flags, out);
}

void certa_store_close(certa_store *s)
{
    if (s != NULL)
        s->ops->close(s);
}

#define CHECK(s) do { if ((s) == NULL) return certa_error_set(CERTA_EINVAL, "no store"); } while (0)

int certa_store_begin(certa_store *s) { CHECK(s); return s->ops->begin(s); }
int certa_store_commit(certa_store *s) { CHECK(s); return s->ops->commit(s); }
int certa_store_rollback(certa_store *s) { CHECK(s); return s->ops->rollback(s); }

int certa_store_cert_insert(certa_store *s, const struct certa_cert_row *row)
{
    CHECK(s);
    if (row == NULL || row->serial[0] == '\0' || row->der == NULL || row->der_len == 0)
        return certa_error_set(CERTA_EINVAL, "certificate row without serial or DER");
    return s->ops->cert_insert(s, row);
}

int certa_store_cert_get(certa_store *s, const char *serial, struct certa_cert_row *out)
{
    CHECK(s);
    if (serial == NULL || out == NULL)
        return certa_error_set(CERTA_EINVAL, "no serial given");
    return s->ops->cert_get(s, serial, out);
}

int certa_store_cert_exists(certa_store *s, const char *serial, int *exists)
{
    CHECK(s);
    if (serial == NULL || exists == NULL)
        return certa_error_set(CERTA_EINVAL, "no serial given");
    return s->ops->cert_exists(s, serial, exists);
}

int certa_store_cert_list(certa_store *s, const struct certa_cert_filter *f,
                          certa_cert_cb cb, void *arg)
{
    CHECK(s);
    if (cb == NULL)
        return certa_error_set(CERTA_EINVAL, "no callback given");
    return s->ops->cert_list(s, f, cb, arg);
}

int certa_store_cert_revoke(certa_store *s, const char *serial, int reason, int64_t when,
                            int64_t invalidity_date, const unsigned char *entry_der,
                            size_t entry_len)
{
    CHECK(s);
    if (serial == NULL)
        return certa_error_set(CERTA_EINVAL, "no serial given");
    if (reason < CERTA_REASON_UNSPECIFIED || reason > CERTA_REASON_AA_COMPROMISE ||
        reason == 7 || reason == CERTA_REASON_REMOVE_FROM_CRL)
        return certa_error_set(CERTA_EINVAL, "revocation reason %d is not valid here", reason);
    return s->ops->cert_revoke(s, serial, reason, when, invalidity_date, entry_der, entry_len);
}

int certa_store_cert_release_hold(certa_store *s, const char *serial, int64_t when)
{
    CHECK(s);
    if (serial == NULL)
        return certa_error_set(CERTA_EINVAL, "no serial given");
    return s->ops->cert_release_hold(s, serial, when);
}

int certa_store_revoked_each(certa_store *s, int64_t since_seq, certa_revoked_cb cb,
                             void *arg, int64_t *max_seq)
{
    CHECK(s);
    if (cb == NULL || since_seq < 0)
        return certa_error_set(CERTA_EINVAL, "bad revocation stream arguments");
    return s->ops->revoked_each(s, since_seq, cb, arg, max_seq);
}

int certa_store_counter_next(certa_store *s, const char *name, int64_t *out)
{
    CHECK(s);
    if (name == NULL || out == NULL)
        return certa_error_set(CERTA_EINVAL, "no counter name given");
    return s->ops->counter_next(s, name, out);
}

int certa_store_counter_get(certa_store *s, const char *name, int64_t *out)
{
    CHECK(s);
    if (name == NULL || out == NULL)
        return certa_error_set(CERTA_EINVAL, "no counter name given");
    return s->ops->counter_get(s, name, out);
}

int certa_store_meta_set(certa_store *s, const char *key, const char *value)
{
    CHECK(s);
    if (key == NULL || value == NULL)
        return certa_error_set(CERTA_EINVAL, "no meta key or value given");
    return s->ops->meta_set(s, key, value);
}

int certa_store_meta_get(certa_store *s, const char *key, char *out, size_t out_len)
{
    CHECK(s);
    if (key == NULL || out == NULL || out_len == 0)
        return certa_error_set(CERTA_EINVAL, "no meta key or output given");
    return s->ops->meta_get(s, key, out, out_len);
}

int certa_store_request_insert(certa_store *s, struct certa_request_row *row)
{
    CHECK(s);
    if (row == NULL || row->protocol == NULL)
        return certa_error_set(CERTA_EINVAL, "request row without protocol");
    return s->ops->request_insert(s, row);
}

int certa_store_request_get(certa_store *s, int64_t id, struct certa_request_row *out)
{
    CHECK(s);
    if (out == NULL)
        return certa_error_set(CERTA_EINVAL, "no output row given");
    return s->ops->request_get(s, id, out);
}

int certa_store_request_find_txn(certa_store *s, const char *protocol,
                                 const char *transaction_id, struct certa_request_row *out)
{
    CHECK(s);
    if (protocol == NULL || transaction_id == NULL || out == NULL)
        return certa_error_set(CERTA_EINVAL, "no protocol or transaction given");
    return s->ops->request_find_txn(s, protocol, transaction_id, out);
}

int certa_store_request_list(certa_store *s, int status, certa_request_cb cb, void *arg)
{
    CHECK(s);
    if (cb == NULL)
        return certa_error_set(CERTA_EINVAL, "no callback given");
    return s->ops->request_list(s, status, cb, arg);
}

int certa_store_request_finish(certa_store *s, int64_t id, int status, const char *serial,
                               const char *reason)
{
    CHECK(s);
    if (status == CERTA_REQ_ISSUED && serial == NULL)
        return certa_error_set(CERTA_EINVAL, "an issued request needs a serial");
    if (status != CERTA_REQ_ISSUED && status != CERTA_REQ_REJECTED)
        return certa_error_set(CERTA_EINVAL, "a request can only finish issued or rejected");
    return s->ops->request_finish(s, id, status, serial, reason);
}

int certa_store_txn_bind(certa_store *s, const char *protocol, const char *txid,
                         const char *key_id, int64_t request_id, int64_t *existing_request)
{
    CHECK(s);
    if (protocol == NULL || txid == NULL || key_id == NULL)
        return certa_error_set(CERTA_EINVAL, "transaction binding needs protocol, id and key");
    return s->ops->txn_bind(s, protocol, txid, key_id, request_id, existing_request);
}

int certa_store_nonce_use(certa_store *s, const char *protocol, const unsigned char *nonce,
                          size_t len, int64_t expires_at)
{
    CHECK(s);
    if (protocol == NULL || nonce == NULL || len == 0 || len > 1024)
        return certa_error_set(CERTA_EINVAL, "nonce missing or over 1024 bytes");
    return s->ops->nonce_use(s, protocol, nonce, len, expires_at);
}

int certa_store_secret_insert(certa_store *s, const struct certa_secret_row *row)
{
    CHECK(s);
    if (row == NULL || row->kind == NULL || row->ref == NULL || row->blob == NULL)
        return certa_error_set(CERTA_EINVAL, "secret row without kind, ref or value");
    return s->ops->secret_insert(s, row);
}

int certa_store_secret_get(certa_store *s, const char *kind, const char *ref,
                           struct certa_secret_row *out)
{
    CHECK(s);
    if (kind == NULL || ref == NULL || out == NULL)
        return certa_error_set(CERTA_EINVAL, "no secret kind or ref given");
    return s->ops->secret_get(s, kind, ref, out);
}

int certa_store_secret_consume(certa_store *s, const char *kind, const char *ref, int64_t now)
{
    CHECK(s);
    if (kind == NULL || ref == NULL)
        return certa_error_set(CERTA_EINVAL, "no secret kind or ref given");
    return s->ops->secret_consume(s, kind, ref, now);
}

int certa_store_stats_get(certa_store *s, struct certa_store_stats *out)
{
    CHECK(s);
    if (out == NULL)
        return certa_error_set(CERTA_EINVAL, "no output given");
    return s->ops->stats_get(s, out);
}

void certa_cert_row_clear(struct certa_cert_row *row)
{
    if (row == NULL)
        return;
    free(row->subject);
    free(row->profile);
    free(row->der);
    row->subject = row->profile = NULL;
    row->der = NULL;
    row->der_len = 0;
}

void certa_request_row_clear(struct certa_request_row *row)
{
    if (row == NULL)
        return;
    free(row->protocol);
    free(row->profile);
    free(row->subject);
    free(row->requester);
    free(row->transaction_id);
    free(row->serial);
    free(row->reason);
    free(row->body);
    memset(row, 0, sizeof(*row));
}

void certa_secret_row_clear(struct certa_secret_row *row)
{
    if (row == NULL)
        return;
    free(row->kind);
    free(row->ref);
    if (row->blob != NULL)
        certa_memzero(row->blob, row->blob_len);
    free(row->blob);
    free(row->subject_pattern);
    memset(row, 0, sizeof(*row));
}
