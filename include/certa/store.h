/* The CA's durable state behind a small vtable (SQLite's VFS is the model):
 * certificates, revocations, requests, CRL numbers, protocol transactions and
 * nonces, hashed or encrypted one-time secrets. SQLite now, PostgreSQL later;
 * callers only ever see these functions, never SQL.
 *
 * A certa_store handle belongs to one thread at a time; a server opens one
 * handle per worker thread. Every write is durable when the call (or the
 * enclosing certa_store_commit) returns. */
#ifndef CERTA_STORE_H
#define CERTA_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "certa/error.h"

typedef struct certa_store certa_store;

#define CERTA_SERIAL_HEX_MAX 66   /* 32 octets as hex plus NUL, rounded */

/* RFC 5280 CRLReason values; -1 means "not revoked". */
enum certa_crl_reason {
    CERTA_REASON_NONE = -1,
    CERTA_REASON_UNSPECIFIED = 0,
    CERTA_REASON_KEY_COMPROMISE = 1,
    CERTA_REASON_CA_COMPROMISE = 2,
    CERTA_REASON_AFFILIATION_CHANGED = 3,
    CERTA_REASON_SUPERSEDED = 4,
    CERTA_REASON_CESSATION_OF_OPERATION = 5,
    CERTA_REASON_CERTIFICATE_HOLD = 6,
    CERTA_REASON_REMOVE_FROM_CRL = 8,
    CERTA_REASON_PRIVILEGE_WITHDRAWN = 9,
    CERTA_REASON_AA_COMPROMISE = 10,
};

enum certa_cert_row_status { CERTA_CERT_VALID = 0, CERTA_CERT_REVOKED = 1 };

struct certa_cert_row {
    char serial[CERTA_SERIAL_HEX_MAX];  /* lowercase hex, no leading zeros */
    char *subject;                      /* one-line DN */
    char *profile;
    int64_t request_id;                 /* 0 when issued without a stored request */
    int64_t issued_at, not_before, not_after; /* Unix seconds */
    int status;                         /* CERTA_CERT_* */
    int reason;                         /* CERTA_REASON_*; HOLD while on hold */
    int64_t revoked_at, invalidity_date;/* 0 when unset */
    unsigned char *der;                 /* the certificate */
    size_t der_len;
};
/* Frees the strings and DER of a row filled by the store (not the row). */
CERTA_API void certa_cert_row_clear(struct certa_cert_row *row);

/* One revocation as the CRL builder streams it. */
struct certa_revoked_row {
    const char *serial;                 /* lowercase hex */
    int64_t revoked_at;
    int reason;                         /* CERTA_REASON_*; REMOVE_FROM_CRL in a
                                           delta for a released hold */
    int64_t invalidity_date;
    const unsigned char *entry_der;     /* the pre-encoded CRL entry, may be NULL */
    size_t entry_len;
    int64_t change_seq;
};

enum certa_request_status {
    CERTA_REQ_PENDING = 0, CERTA_REQ_ISSUED = 1, CERTA_REQ_REJECTED = 2,
};

struct certa_request_row {
    int64_t id;
    int status;                 /* CERTA_REQ_* */
    char *protocol;             /* "cli", "scep", "cmp", "est" */
    char *profile;
    char *subject;
    char *requester;            /* who asked and how they authenticated */
    char *transaction_id;       /* protocol transaction, may be NULL */
    char *serial;               /* when issued */
    char *reason;               /* when rejected */
    int64_t created_at, updated_at;
    unsigned char *body;        /* the normalized request, serialized by ca/ */
    size_t body_len;
};
CERTA_API void certa_request_row_clear(struct certa_request_row *row);

struct certa_secret_row {
    char *kind;                 /* "scep-challenge", "cmp-secret", ... */
    char *ref;                  /* lookup key shown to the operator */
    unsigned char *blob;        /* salted hash, or encrypted secret */
    size_t blob_len;
    char *subject_pattern;      /* NULL: any subject */
    int uses_left;              /* -1: unlimited */
    int64_t created_at, expires_at; /* expires_at 0: never */
};
CERTA_API void certa_secret_row_clear(struct certa_secret_row *row);

struct certa_cert_filter {
    int status;                 /* -1 any, else CERTA_CERT_* */
    const char *subject_like;   /* substring, or NULL */
    int64_t expires_before;     /* 0: no bound */
    int64_t limit, offset;      /* limit 0: all */
};

/* Callbacks return 0 to continue, a positive value to stop early, or a
 * negative CERTA_E* code to abort (returned by the iterating call). */
typedef int (*certa_cert_cb)(const struct certa_cert_row *row, void *arg);
typedef int (*certa_revoked_cb)(const struct certa_revoked_row *row, void *arg);
typedef int (*certa_request_cb)(const struct certa_request_row *row, void *arg);

struct certa_store_stats {
    int64_t certificates, revoked, requests_pending, requests, secrets;
};

enum certa_store_flags {
    CERTA_STORE_CREATE = 1,     /* create and migrate when missing */
    CERTA_STORE_READONLY = 2,
};

/* Opens "sqlite:PATH", a bare PATH (SQLite), or "postgresql://..." (later).
 * Without CERTA_STORE_CREATE a missing database is CERTA_ENOTFOUND and a
 * file that is not a certa database is CERTA_ESTORE. Migrates the schema
 * forward on open; refuses a schema newer than this build. */
CERTA_API int certa_store_open(const char *uri, int flags, certa_store **out);
CERTA_API void certa_store_close(certa_store *s);

/* Explicit transactions group several writes into one durable commit (group
 * commit for issuance). Without them each write commits on its own. Nested
 * begin is an error. */
CERTA_API int certa_store_begin(certa_store *s);
CERTA_API int certa_store_commit(certa_store *s);
CERTA_API int certa_store_rollback(certa_store *s);

/* Certificates. Inserting an existing serial is CERTA_EEXIST. */
CERTA_API int certa_store_cert_insert(certa_store *s, const struct certa_cert_row *row);
CERTA_API int certa_store_cert_get(certa_store *s, const char *serial, struct certa_cert_row *out);
CERTA_API int certa_store_cert_exists(certa_store *s, const char *serial, int *exists);
CERTA_API int certa_store_cert_list(certa_store *s, const struct certa_cert_filter *f,
                                    certa_cert_cb cb, void *arg);

/* Marks a certificate revoked and stores its pre-encoded CRL entry. Unknown
 * serial: CERTA_ENOTFOUND. Already revoked: CERTA_ESTATE, except that a
 * certificate on hold may be revoked for good (the hold is replaced). Each
 * revocation change takes the next value of the "revocation" sequence. */
CERTA_API int certa_store_cert_revoke(certa_store *s, const char *serial, int reason,
                                      int64_t when, int64_t invalidity_date,
                                      const unsigned char *entry_der, size_t entry_len);
/* Releases a certificate on hold (removeFromCRL): CERTA_ESTATE unless on hold. */
CERTA_API int certa_store_cert_release_hold(certa_store *s, const char *serial, int64_t when);

/* Streams revocations without materialising them. since_seq == 0: every
 * certificate currently revoked or on hold (a full CRL). since_seq > 0:
 * every change after that sequence value (a delta CRL), including released
 * holds as reason REMOVE_FROM_CRL. max_seq receives the highest sequence
 * value seen (or the current one), to record as the CRL's base. */
CERTA_API int certa_store_revoked_each(certa_store *s, int64_t since_seq, certa_revoked_cb cb,
                                       void *arg, int64_t *max_seq);

/* Atomic named counters (CRL numbers, the revocation sequence). */
CERTA_API int certa_store_counter_next(certa_store *s, const char *name, int64_t *out);
CERTA_API int certa_store_counter_get(certa_store *s, const char *name, int64_t *out);

/* Small key/value settings (the last full CRL's number and base, ...). */
CERTA_API int certa_store_meta_set(certa_store *s, const char *key, const char *value);
/* Copies the value into out; CERTA_ENOTFOUND when unset. */
CERTA_API int certa_store_meta_get(certa_store *s, const char *key, char *out, size_t out_len);

/* Requests. insert fills row->id. */
CERTA_API int certa_store_request_insert(certa_store *s, struct certa_request_row *row);
CERTA_API int certa_store_request_get(certa_store *s, int64_t id, struct certa_request_row *out);
CERTA_API int certa_store_request_find_txn(certa_store *s, const char *protocol,
                                           const char *transaction_id, struct certa_request_row *out);
/* status -1: all. */
CERTA_API int certa_store_request_list(certa_store *s, int status, certa_request_cb cb, void *arg);
/* Moves a PENDING request to ISSUED (serial) or REJECTED (reason); any other
 * current status is CERTA_ESTATE. */
CERTA_API int certa_store_request_finish(certa_store *s, int64_t id, int status,
                                         const char *serial, const char *reason);

/* Protocol transactions: (protocol, id) is bound to the first key that used
 * it. Same key again: 0 and *request_id (if non-NULL) gets the stored value.
 * Another key: CERTA_EEXIST. */
CERTA_API int certa_store_txn_bind(certa_store *s, const char *protocol, const char *txid,
                                   const char *key_id, int64_t request_id, int64_t *existing_request);
/* Nonces and other one-time values: CERTA_EEXIST when seen before. Entries
 * older than expires_at may be purged. */
CERTA_API int certa_store_nonce_use(certa_store *s, const char *protocol,
                                    const unsigned char *nonce, size_t len, int64_t expires_at);

/* Secrets (challenge passwords, CMP shared secrets). ref is unique per kind. */
CERTA_API int certa_store_secret_insert(certa_store *s, const struct certa_secret_row *row);
CERTA_API int certa_store_secret_get(certa_store *s, const char *kind, const char *ref,
                                     struct certa_secret_row *out);
/* Consumes one use: CERTA_ESTATE when no use is left or it expired at now. */
CERTA_API int certa_store_secret_consume(certa_store *s, const char *kind, const char *ref, int64_t now);

CERTA_API int certa_store_stats_get(certa_store *s, struct certa_store_stats *out);

/* ---- For store implementations only ------------------------------------ */

struct certa_store_ops {
    const char *name;
    void (*close)(certa_store *s);
    int (*begin)(certa_store *s);
    int (*commit)(certa_store *s);
    int (*rollback)(certa_store *s);
    int (*cert_insert)(certa_store *s, const struct certa_cert_row *row);
    int (*cert_get)(certa_store *s, const char *serial, struct certa_cert_row *out);
    int (*cert_exists)(certa_store *s, const char *serial, int *exists);
    int (*cert_list)(certa_store *s, const struct certa_cert_filter *f, certa_cert_cb cb, void *arg);
    int (*cert_revoke)(certa_store *s, const char *serial, int reason, int64_t when,
                       int64_t invalidity_date, const unsigned char *entry, size_t entry_len);
    int (*cert_release_hold)(certa_store *s, const char *serial, int64_t when);
    int (*revoked_each)(certa_store *s, int64_t since_seq, certa_revoked_cb cb, void *arg,
                        int64_t *max_seq);
    int (*counter_next)(certa_store *s, const char *name, int64_t *out);
    int (*counter_get)(certa_store *s, const char *name, int64_t *out);
    int (*meta_set)(certa_store *s, const char *key, const char *value);
    int (*meta_get)(certa_store *s, const char *key, char *out, size_t out_len);
    int (*request_insert)(certa_store *s, struct certa_request_row *row);
    int (*request_get)(certa_store *s, int64_t id, struct certa_request_row *out);
    int (*request_find_txn)(certa_store *s, const char *protocol, const char *txid,
                            struct certa_request_row *out);
    int (*request_list)(certa_store *s, int status, certa_request_cb cb, void *arg);
    int (*request_finish)(certa_store *s, int64_t id, int status, const char *serial,
                          const char *reason);
    int (*txn_bind)(certa_store *s, const char *protocol, const char *txid, const char *key_id,
                    int64_t request_id, int64_t *existing_request);
    int (*nonce_use)(certa_store *s, const char *protocol, const unsigned char *nonce,
                     size_t len, int64_t expires_at);
    int (*secret_insert)(certa_store *s, const struct certa_secret_row *row);
    int (*secret_get)(certa_store *s, const char *kind, const char *ref, struct certa_secret_row *out);
    int (*secret_consume)(certa_store *s, const char *kind, const char *ref, int64_t now);
    int (*stats_get)(certa_store *s, struct certa_store_stats *out);
};

/* Every implementation's handle starts with this. */
struct certa_store {
    const struct certa_store_ops *ops;
};

#endif
