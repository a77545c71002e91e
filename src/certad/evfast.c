/* Two of libevent's helpers that evhttp calls many times for every request,
 * defined again here; the dynamic linker binds libevent's own calls to
 * these definitions (where libevent binds them internally, nothing changes
 * but speed). Each gives exactly what libevent's gives:
 * - evbuffer_add_printf: evhttp writes a response's status line and every
 *   header with it ("HTTP/%d.%d %d %s\r\n", "%s: %s\r\n"), and the C
 *   library's vsnprintf made that a fifth of the instructions certad spent
 *   on a cached OCSP answer. Those two formats are assembled with memcpy;
 *   every other format goes to libevent's evbuffer_add_vprintf.
 * - evutil_ascii_strcasecmp: evhttp_find_header compares header names with
 *   it, through a function call per character. */
#include <stdarg.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/util.h>
#include "certad.h"

_Thread_local unsigned long certad_evfast_hits;

#define LINE_MAX_FAST 512

/* Decimal of v (any int) at p; returns the length. */
static size_t put_int(char *p, int v)
{
    char digits[CERTA_U64_DECIMAL_MAX];
    size_t n = 0, d = certa_u64_decimal(v < 0 ? (uint64_t)(0u - (unsigned int)v) : (uint64_t)v, digits);
    if (v < 0)
        p[n++] = '-';
    memcpy(p + n, digits, d);
    return n + d;
}

/* "%s: %s\r\n" into line: the length, or 0 when printf should do it. */
static size_t header_line(char *line, const char *k, const char *v)
{
    if (k == NULL || v == NULL)
        return 0;       /* printf's "(null)" */
    size_t kl = strlen(k), vl = strlen(v);
    if (kl + vl + 4 > LINE_MAX_FAST)
        return 0;
    memcpy(line, k, kl);
    memcpy(line + kl, ": ", 2);
    memcpy(line + kl + 2, v, vl);
    memcpy(line + kl + 2 + vl, "\r\n", 2);
    return kl + vl + 4;
}

/* "HTTP/%d.%d %d %s\r\n" into line: the length, or 0. */
static size_t status_line(char *line, int major, int minor, int code, const char *reason)
{
    if (reason == NULL)
        return 0;
    size_t rl = strlen(reason), n = 0;
    if (rl + 5 + 3 * 12 + 4 > LINE_MAX_FAST)
        return 0;
    memcpy(line, "HTTP/", 5);
    n = 5;
    n += put_int(line + n, major);
    line[n++] = '.';
    n += put_int(line + n, minor);
    line[n++] = ' ';
    n += put_int(line + n, code);
    line[n++] = ' ';
    memcpy(line + n, reason, rl);
    n += rl;
    memcpy(line + n, "\r\n", 2);
    return n + 2;
}

__attribute__((visibility("default"))) int evbuffer_add_printf(struct evbuffer *buf,
                                                               const char *fmt, ...)
{
    char line[LINE_MAX_FAST];
    size_t n = 0;
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    if (strcmp(fmt, "%s: %s\r\n") == 0) {
        const char *k = va_arg(ap, const char *);
        const char *v = va_arg(ap, const char *);
        n = header_line(line, k, v);
    } else if (strcmp(fmt, "HTTP/%d.%d %d %s\r\n") == 0) {
        int major = va_arg(ap, int), minor = va_arg(ap, int), code = va_arg(ap, int);
        n = status_line(line, major, minor, code, va_arg(ap, const char *));
    }
    int rc;
    if (n > 0) {
        certad_evfast_hits++;
        rc = evbuffer_add(buf, line, n) == 0 ? (int)n : -1;
    } else {
        rc = evbuffer_add_vprintf(buf, fmt, again);
    }
    va_end(again);
    va_end(ap);
    return rc;
}

/* ASCII case folding only, as libevent's EVUTIL_TOLOWER_ (no locale). */
#define FOLD(c) ((c) >= 'A' && (c) <= 'Z' ? (c) + 32 : (c))
#define FOLD4(c) FOLD(c), FOLD((c) + 1), FOLD((c) + 2), FOLD((c) + 3)
#define FOLD16(c) FOLD4(c), FOLD4((c) + 4), FOLD4((c) + 8), FOLD4((c) + 12)
#define FOLD64(c) FOLD16(c), FOLD16((c) + 16), FOLD16((c) + 32), FOLD16((c) + 48)
static const unsigned char fold[256] = { FOLD64(0), FOLD64(64), FOLD64(128), FOLD64(192) };

/* -1, 0 or 1, comparing the folded bytes as char, as libevent does. */
__attribute__((visibility("default"))) int evutil_ascii_strcasecmp(const char *s1, const char *s2)
{
    const unsigned char *a = (const unsigned char *)s1, *b = (const unsigned char *)s2;
    certad_evfast_hits++;
    for (;; a++, b++) {
        if (*a == *b) {         /* header names mostly come in one spelling */
            if (*a == '\0')
                return 0;
            continue;
        }
        char c1 = (char)fold[*a], c2 = (char)fold[*b];
        if (c1 != c2)
            return c1 < c2 ? -1 : 1;
    }
}
