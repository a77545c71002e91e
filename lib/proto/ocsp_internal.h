/* Internals of the OCSP responder (RFC 6960, RFC 5019 profile) shared by
 * lib/proto/ocsp_*.c: the response cache, the signer, request decoding.
 * Not a public header; the service itself is certa_service_ocsp. */
#ifndef CERTA_OCSP_INTERNAL_H
#define CERTA_OCSP_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ocsp.h>
#include "certa/ca.h"
#include "certa/service.h"

#define OCSP_REQ_MAX 8192          /* bound on a request's DER */
#define OCSP_CERTID_MAX 192        /* bound on one CertID's DER (cache key) */
#define OCSP_SERIAL_MAX 32         /* serial octets (RFC 5280: at most 20) */
#define OCSP_NONCE_MAX 32          /* RFC 8954 */
#define OCSP_ISSUER_MDS 4          /* SHA-1, SHA-256, SHA-384, SHA-512 */
#define OCSP_GET_BUF (OCSP_REQ_MAX + 16) /* decoding room for a GET request */

/* The responder's clock (Unix seconds); tests move it to see refreshes. */
extern int64_t (*ocsp_clock)(void);

/* ---- ocsp_cache.c: pre-signed responses per CertID ---------------------
 * Sharded by serial, so every CertID form (SHA-1, SHA-256) of one serial is
 * in one shard and invalidating a serial touches one lock. Readers take the
 * shard's read lock only to copy the response out. */
struct ocsp_cache;

struct ocsp_meta {
    int64_t this_update, next_update;
    int64_t refresh_at;            /* tick() re-signs from here on */
    int64_t stale_at;              /* the hot path stops serving it from here */
    char etag[48];                 /* quoted */
    char detail[64];               /* "ocsp good serial=HEX", for the log line */
    int state;                     /* CERTA_STATE_* */
};

int ocsp_cache_new(size_t max_entries, struct ocsp_cache **out);
void ocsp_cache_free(struct ocsp_cache *c);
/* Copies a fresh (now < stale_at, not invalidated) entry's response into
 * body and its meta into meta: 1. Otherwise 0. *gen (always set) is the
 * shard's generation, to pass to ocsp_cache_put after signing. */
int ocsp_cache_get(struct ocsp_cache *c, const unsigned char *key, size_t klen,
                   const unsigned char *serial, size_t slen, int64_t now,
                   certa_buf *body, struct ocsp_meta *meta, uint64_t *gen);
/* The shard generation for a serial (read before looking up its status). */
uint64_t ocsp_cache_gen(struct ocsp_cache *c, const unsigned char *serial, size_t slen);
/* Stores (or replaces) a response, unless the serial was invalidated since
 * gen was read: a status read before a revocation is never cached after it. */
int ocsp_cache_put(struct ocsp_cache *c, const unsigned char *key, size_t klen,
                   const unsigned char *serial, size_t slen, const unsigned char *der,
                   size_t dlen, const struct ocsp_meta *meta, uint64_t gen);
/* Marks every cached response of a serial stale (to be re-signed). */
void ocsp_cache_invalidate(struct ocsp_cache *c, const unsigned char *serial, size_t slen);
/* Drops one entry (a serial that is no longer answerable from the cache). */
void ocsp_cache_remove(struct ocsp_cache *c, const unsigned char *key, size_t klen,
                       const unsigned char *serial, size_t slen);
void ocsp_cache_invalidate_all(struct ocsp_cache *c);
/* Copies up to max keys of entries that are stale or due for refresh at now
 * into keys[i] (OCSP_CERTID_MAX bytes each), lengths into lens. */
size_t ocsp_cache_due(struct ocsp_cache *c, int64_t now, unsigned char (*keys)[OCSP_CERTID_MAX],
                      size_t *lens, size_t max);
size_t ocsp_cache_count(struct ocsp_cache *c);

/* ---- ocsp_memo.c: request bytes -> checked CertID ---------------------- */
#define OCSP_MEMO_REQ_MAX 512      /* longer requests are always decoded */
/* ocsp_budget.c: CPU time for on-demand signatures ([ocsp] sign_budget_ms). */
struct ocsp_budget {
    pthread_mutex_t lock;
    int64_t cap_ns, tokens_ns, last_ns;
};
void ocsp_budget_init(struct ocsp_budget *b, long ms_per_second);
void ocsp_budget_clear(struct ocsp_budget *b);
/* 1 when a signature may be made now; *started is for ocsp_budget_spend. */
int ocsp_budget_take(struct ocsp_budget *b, int64_t *started);
void ocsp_budget_spend(struct ocsp_budget *b, int64_t started);

struct ocsp_memo;
int ocsp_memo_new(size_t max_entries, struct ocsp_memo **out);
void ocsp_memo_free(struct ocsp_memo *m);
/* 1 when these exact bytes were a valid nonce-less single request for this
 * CA before, with its CertID DER and serial. */
int ocsp_memo_get(struct ocsp_memo *m, const unsigned char *req, size_t rlen,
                  unsigned char key[OCSP_CERTID_MAX], size_t *klen,
                  unsigned char serial[OCSP_SERIAL_MAX], size_t *slen);
void ocsp_memo_put(struct ocsp_memo *m, const unsigned char *req, size_t rlen,
                   const unsigned char *key, size_t klen, const unsigned char *serial, size_t slen);

/* ---- ocsp_signer.c: who signs, and signing a basic response ------------ */
struct ocsp_signer {
    X509 *cert;                    /* signing certificate (CA or delegated) */
    EVP_PKEY *key;
    const EVP_MD *md;              /* NULL for EdDSA */
    STACK_OF(X509) *certs;         /* included in responses, or NULL */
    unsigned long flags;           /* OCSP_basic_sign flags */
    int64_t not_after;             /* the certificate's notAfter */
    int delegated;
};

/* The CA itself as signer (cert and key are up-referenced). */
int ocsp_signer_ca(X509 *ca_cert, EVP_PKEY *ca_key, struct ocsp_signer *out);
/* DIR/ocsp.crt + DIR/ocsp.key when both exist and the certificate is a
 * valid OCSP signer issued by ca_cert: 0. Neither present: CERTA_ENOTFOUND.
 * Present but unusable: another error naming why. */
int ocsp_signer_delegated(const char *dir, X509 *ca_cert, struct ocsp_signer *out);
void ocsp_signer_clear(struct ocsp_signer *s);

struct ocsp_answer {
    OCSP_CERTID *id;               /* borrowed from the request */
    struct certa_cert_status st;
};
/* Signs a successful response for n answers valid [now, next_update]; the
 * nonce of req (when non-NULL) is echoed. DER into der. */
int ocsp_sign(const struct ocsp_signer *s, const struct ocsp_answer *a, size_t n,
              OCSP_REQUEST *nonce_from, int64_t now, int64_t next_update, certa_buf *der);
/* The DER of an unsuccessful OCSPResponse (malformedRequest, ...). */
int ocsp_error_der(int status, certa_buf *der);

/* ---- ocsp_request.c: decoding and checking a request ------------------- */
struct ocsp_issuer {
    int nids[OCSP_ISSUER_MDS];
    unsigned char name_hash[OCSP_ISSUER_MDS][64];
    unsigned char key_hash[OCSP_ISSUER_MDS][64];
    unsigned int len[OCSP_ISSUER_MDS];
};
int ocsp_issuer_init(X509 *ca_cert, struct ocsp_issuer *out);
/* 1 when the CertID names this issuer (constant-time compares). */
int ocsp_issuer_match(const struct ocsp_issuer *iss, OCSP_CERTID *id);

enum ocsp_verdict { OCSP_VERDICT_OK = 0, OCSP_VERDICT_MALFORMED, OCSP_VERDICT_UNAUTHORIZED };
struct ocsp_parsed {
    OCSP_REQUEST *req;             /* owned; free with ocsp_parsed_clear */
    int count;                     /* CertIDs */
    int has_nonce;
    const char *why;               /* for the log line when not OK */
};
/* Decodes DER (exactly, no trailing bytes), checks the nonce (1..32 octets)
 * and critical extensions, the CertID count (1..max_ids) and that every
 * CertID names iss. */
int ocsp_request_parse(const unsigned char *der, size_t len, int max_ids,
                       const struct ocsp_issuer *iss, struct ocsp_parsed *out);
void ocsp_parsed_clear(struct ocsp_parsed *p);
/* RFC 5019 GET: the base64 of the DER after "/ocsp/" (tolerant of the
 * base64url alphabet, missing padding and '+' turned into ' '), into out
 * (OCSP_GET_BUF bytes; the request is at most OCSP_REQ_MAX). */
int ocsp_request_from_path(const char *b64, unsigned char *out, size_t *len);
/* The serial's magnitude (no leading zero octets) into out; its length,
 * or 0 when empty or longer than OCSP_SERIAL_MAX. */
size_t ocsp_certid_serial(OCSP_CERTID *id, unsigned char out[OCSP_SERIAL_MAX]);

#endif
