/* Error codes and the thread-local detail message of libcerta.
 * Every fallible function returns 0 or a negative CERTA_E* code and leaves a
 * one-line explanation for certa_error_last() (libgit2's git_error_last()). */
#ifndef CERTA_ERROR_H
#define CERTA_ERROR_H

#include <stdarg.h>

#define CERTA_API __attribute__((visibility("default")))

enum certa_error_code {
    CERTA_OK = 0,
    CERTA_EINVAL = -1,      /* bad argument or malformed input */
    CERTA_ENOMEM = -2,
    CERTA_EIO = -3,         /* file or socket I/O */
    CERTA_ENOTFOUND = -4,   /* no such serial, request, file, profile ... */
    CERTA_EEXIST = -5,      /* already there (serial, transaction, label) */
    CERTA_EPOLICY = -6,     /* refused by the profile or by a CA rule */
    CERTA_ECRYPTO = -7,     /* OpenSSL failed: bad signature, wrong key ... */
    CERTA_ESTORE = -8,      /* database failure or corrupt database */
    CERTA_EPASS = -9,       /* wrong passphrase or secret */
    CERTA_ESTATE = -10,     /* wrong state: already revoked, not pending ... */
    CERTA_EUNSUPPORTED = -11,
    CERTA_ENET = -12,       /* network failure, unreachable peer */
    CERTA_EPROTO = -13,     /* peer spoke the protocol wrongly */
    CERTA_ETIMEOUT = -14,
    CERTA_EPENDING = -15,   /* request accepted, waiting for approval */
    CERTA_ETOOBIG = -16,    /* input over its size bound */
};

/* The detail message of the last error on this thread ("" when none). */
CERTA_API const char *certa_error_last(void);
/* The code of the last error on this thread (0 when none). */
CERTA_API int certa_error_last_code(void);
/* A short fixed name for a code, e.g. "not found". */
CERTA_API const char *certa_error_name(int code);
CERTA_API void certa_error_clear(void);

/* Sets the detail message and returns code, so callers can write
 * `return certa_error_set(CERTA_EINVAL, "bad serial '%s'", s);`. */
CERTA_API int certa_error_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Like certa_error_set, and appends OpenSSL's most relevant queued reason
 * (": <reason>"), then clears OpenSSL's error queue. */
CERTA_API int certa_error_ossl(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
