/* certa_buf: the growable byte buffer used for DER, PEM and HTTP bodies. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "certa/util.h"

int certa_buf_reserve(certa_buf *b, size_t extra)
{
    /* One spare byte keeps room for a terminating NUL on text. */
    if (extra > SIZE_MAX - b->len - 1)
        return certa_error_set(CERTA_ENOMEM, "buffer size overflow");
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    unsigned char *p = realloc(b->data, cap);
    if (p == NULL)
        return certa_error_set(CERTA_ENOMEM, "out of memory (%zu bytes)", cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

int certa_buf_append(certa_buf *b, const void *data, size_t len)
{
    int rc = certa_buf_reserve(b, len);
    if (rc < 0)
        return rc;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int certa_buf_appendf(certa_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return certa_error_set(CERTA_EINVAL, "bad format string");
    int rc = certa_buf_reserve(b, (size_t)n);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void certa_buf_free(certa_buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void certa_buf_free_secure(certa_buf *b)
{
    if (b == NULL)
        return;
    if (b->data != NULL)
        OPENSSL_cleanse(b->data, b->cap);
    certa_buf_free(b);
}

void certa_memzero(void *p, size_t len)
{
    if (p != NULL)
        OPENSSL_cleanse(p, len);
}

int certa_memeq_ct(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}
