/* The contract between certad's HTTP layer and the protocol modules (SCEP,
 * OCSP, CMP, EST, CRL/certificate distribution). A module is transport-free:
 * request bytes and a little context in, a response out. certad only routes,
 * so every module can be unit-tested and fuzzed without a socket, and an RA
 * can reuse it.
 *
 * Threads: certad runs one event loop per worker thread, and each worker has
 * its own certa_ca handle (a handle belongs to one thread at a time). A
 * module's state, made once by start(), is shared by every worker: whatever
 * in it changes after start() must be safe to use from several threads. */
#ifndef CERTA_SERVICE_H
#define CERTA_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>
#include "certa/ca.h"
#include "certa/util.h"

/* One HTTP request as certad hands it to a module. Every pointer is borrowed
 * for the duration of handle(). The body is already bounded by certad's
 * limit (413 is certad's answer, modules never see an oversize body). */
struct certa_http_request {
    const char *method;         /* "GET", "POST", "HEAD" ... */
    const char *path;           /* decoded path without the query, e.g. "/scep" */
    const char *query;          /* raw (still %-encoded) query string, or NULL */
    const char *content_type;   /* Content-Type header, or NULL */
    const char *if_none_match;  /* If-None-Match header, or NULL */
    const char *if_modified_since; /* If-Modified-Since header, or NULL */
    const unsigned char *body;
    size_t body_len;
    const char *remote_addr;    /* "127.0.0.1:54321", for logs */
    X509 *client_cert;          /* verified TLS client certificate, or NULL */
};

/* The module's answer. certad zero-initialises it, sets status 500, and
 * after handle() sends it and frees body. */
struct certa_http_response {
    int status;                 /* HTTP status */
    char content_type[96];      /* "" = none (e.g. 304) */
    certa_buf body;
    char etag[80];              /* quoted ETag to send, or "" */
    char cache_control[128];    /* Cache-Control value, or "" */
    int64_t last_modified;      /* Unix time for Last-Modified, 0 = none */
    int64_t expires;            /* Unix time for Expires, 0 = none */
    /* A short phrase for certad's one log line per request: what happened
     * in protocol terms ("PKCSReq issued serial=ab12", "failInfo=badMessageCheck",
     * "ocsp good"). Never a secret. */
    char log_detail[192];
};

/* What a module gets when it starts. */
struct certa_service_env {
    /* A CA handle for start() only (to read certificates and settings);
     * not to be kept: requests get their own thread's handle. */
    certa_ca *ca;
    /* A setting from certad's config file, section named after the module
     * ("scep", "ocsp", ...), falling back to the CA's ca.conf; NULL when
     * neither has it. */
    const char *(*setting)(void *arg, const char *section, const char *key);
    void *setting_arg;
};

struct certa_service {
    const char *name;           /* "scep", "ocsp", "cmp", "publish" ... */
    /* Path prefixes the module serves, NULL-terminated; the longest matching
     * prefix wins. A prefix ending in '/' matches what is below it; one
     * without matches the path exactly. */
    const char *const *paths;
    /* Builds the shared state (may be NULL when the module needs none).
     * Negative CERTA_E* with certa_error_last() set stops certad from
     * starting, naming the module. */
    int (*start)(const struct certa_service_env *env, void **state);
    /* Answers one request with this worker's CA handle. Returns 0 when res
     * holds the answer (including protocol failures and 4xx); negative only
     * for internal failures, which certad answers with 500. */
    int (*handle)(void *state, certa_ca *ca, const struct certa_http_request *req,
                  struct certa_http_response *res);
    /* Called about once a second from one worker with that worker's handle
     * (refresh pre-signed responses, regenerate CRLs, notice revocations made
     * by another process). May be NULL. */
    void (*tick)(void *state, certa_ca *ca);
    /* Called in the revoking thread after a revocation change committed
     * through any worker's handle (CMP rr), with the serial (lowercase hex).
     * May be NULL. */
    void (*revoked)(void *state, const char *serial);
    void (*stop)(void *state);
};

/* Helpers for modules filling a response. */
/* Sets status, content type and a copy of the bytes as the body. */
CERTA_API int certa_http_respond(struct certa_http_response *res, int status, const char *content_type,
                                 const void *body, size_t len);
/* Sets a plain-text error body ("what went wrong\n") with that status. */
CERTA_API int certa_http_respond_error(struct certa_http_response *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The value of one query parameter, %-decoded ('+' kept as '+', as SCEP
 * clients send base64 unescaped), into a malloc'd buffer (*len set). NULL
 * query or missing parameter: CERTA_ENOTFOUND. */
CERTA_API int certa_http_query_param(const char *query, const char *name, unsigned char **out, size_t *len);

#endif
