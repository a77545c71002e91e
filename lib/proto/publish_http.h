/* HTTP validators for published documents (CRLs, the CA certificate, and
 * OCSP responses served by GET): ETags and RFC 7232 conditional requests.
 * Not a public header. */
#ifndef CERTA_PUBLISH_HTTP_H
#define CERTA_PUBLISH_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "certa/service.h"

/* The publishing schedule's clock (Unix seconds); tests move it. */
extern int64_t (*publish_clock)(void);

/* A quoted ETag from a digest of the bytes into out (at least 40 bytes). */
int publish_etag(const unsigned char *data, size_t len, char *out, size_t out_len);
/* 1 when the request's If-None-Match (which takes precedence) or
 * If-Modified-Since says the client's copy is current: answer 304. */
int publish_not_modified(const struct certa_http_request *req, const char *etag,
                         int64_t last_modified);
/* An HTTP-date (IMF-fixdate, RFC 850 or asctime form) as Unix time, or -1. */
int64_t publish_http_date(const char *s);

#endif
