/* Thread-local error detail for libcerta. One message per thread, replaced by
 * each new error; OpenSSL's queue is folded into it where OpenSSL failed. */
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include "certa/error.h"

static _Thread_local char last_msg[512];
static _Thread_local int last_code;

const char *certa_error_last(void) { return last_msg; }
int certa_error_last_code(void) { return last_code; }

void certa_error_clear(void)
{
    last_msg[0] = '\0';
    last_code = 0;
}

const char *certa_error_name(int code)
{
    switch (code) {
    case CERTA_OK: return "success";
    case CERTA_EINVAL: return "invalid input";
    case CERTA_ENOMEM: return "out of memory";
    case CERTA_EIO: return "I/O error";
    case CERTA_ENOTFOUND: return "not found";
    case CERTA_EEXIST: return "already exists";
    case CERTA_EPOLICY: return "refused by policy";
    case CERTA_ECRYPTO: return "cryptographic failure";
    case CERTA_ESTORE: return "store failure";
    case CERTA_EPASS: return "wrong passphrase or secret";
    case CERTA_ESTATE: return "wrong state";
    case CERTA_EUNSUPPORTED: return "unsupported";
    case CERTA_ENET: return "network failure";
    case CERTA_EPROTO: return "protocol error";
    case CERTA_ETIMEOUT: return "timed out";
    case CERTA_EPENDING: return "pending";
    case CERTA_ETOOBIG: return "too large";
    default: return "unknown error";
    }
}

static void set_message(int code, const char *fmt, va_list ap)
{
    last_code = code;
    vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
}

int certa_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(code, fmt, ap);
    va_end(ap);
    return code;
}

int certa_error_ossl(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(code, fmt, ap);
    va_end(ap);

    /* The last queued error is usually the outermost, most meaningful one. */
    unsigned long e = ERR_peek_last_error();
    if (e != 0) {
        const char *reason = ERR_reason_error_string(e);
        size_t n = strlen(last_msg);
        if (reason != NULL && n + 3 < sizeof(last_msg))
            snprintf(last_msg + n, sizeof(last_msg) - n, ": %s", reason);
    }
    ERR_clear_error();
    return code;
}
