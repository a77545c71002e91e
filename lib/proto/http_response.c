/* Helpers for protocol modules answering certad's HTTP requests: filling a
 * response and reading query parameters, so no module parses HTTP itself. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "certa/service.h"

int certa_http_respond(struct certa_http_response *res, int status, const char *content_type,
                       const void *body, size_t len)
{
    res->status = status;
    snprintf(res->content_type, sizeof(res->content_type), "%s", content_type ? content_type : "");
    res->body.len = 0;
    return len > 0 ? certa_buf_append(&res->body, body, len) : 0;
}

int certa_http_respond_error(struct certa_http_response *res, int status, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof(text) - 2)
        n = (int)sizeof(text) - 2;
    text[n++] = '\n';
    return certa_http_respond(res, status, "text/plain; charset=utf-8", text, (size_t)n);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int certa_http_query_param(const char *query, const char *name, unsigned char **out, size_t *len)
{
    size_t nlen = strlen(name);
    *out = NULL;
    *len = 0;
    for (const char *p = query; p != NULL && *p; ) {
        const char *end = strchr(p, '&');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        if (plen > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            size_t vlen = plen - nlen - 1;
            unsigned char *buf = malloc(vlen + 1);
            size_t o = 0;
            if (buf == NULL)
                return certa_error_set(CERTA_ENOMEM, "out of memory");
            for (size_t i = 0; i < vlen; i++) {
                int hi, lo;
                if (v[i] == '%' && i + 2 < vlen &&
                    (hi = hexval(v[i + 1])) >= 0 && (lo = hexval(v[i + 2])) >= 0) {
                    buf[o++] = (unsigned char)(hi << 4 | lo);
                    i += 2;
                } else {
                    buf[o++] = (unsigned char)v[i];
                }
            }
            buf[o] = '\0';
            *out = buf;
            *len = o;
            return 0;
        }
        p = end ? end + 1 : NULL;
    }
    return certa_error_set(CERTA_ENOTFOUND, "query parameter '%s' missing", name);
}
