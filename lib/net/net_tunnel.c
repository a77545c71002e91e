/* The CONNECT tunnel through an HTTP proxy for https:// URLs (RFC 9110
 * 9.3.6): one request out, the proxy's status line and header lines in,
 * then the socket carries TLS end to end. Lines are split by libevent's
 * evbuffer_readln; only the status code is looked at. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include "net.h"

#define MAX_REPLY 16384   /* a proxy's reply to CONNECT is a few lines */

static int wait_for(const struct certa_net_ctx *ctx, int fd, short events)
{
    struct pollfd p = { .fd = fd, .events = events };
    int n;
    do {
        n = poll(&p, 1, certa_net_remaining_ms(ctx));
    } while (n < 0 && errno == EINTR);
    if (n == 0)
        return certa_net_timeout(ctx);
    if (n < 0)
        return certa_error_set(CERTA_ENET, "%s: proxy: %s", ctx->url, strerror(errno));
    return 0;
}

static int send_all(const struct certa_net_ctx *ctx, int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            int rc = wait_for(ctx, fd, POLLOUT);
            if (rc < 0)
                return rc;
            continue;
        }
        if (n < 0)
            return certa_error_set(CERTA_ENET, "%s: cannot send CONNECT to the proxy: %s", ctx->url, strerror(errno));
        p += n, len -= (size_t)n;
    }
    return 0;
}

/* The code of "HTTP/1.x NNN reason", or -1. */
static int status_code(const char *line)
{
    if (strncmp(line, "HTTP/1.", 7) != 0 || line[7] < '0' || line[7] > '9' || line[8] != ' ')
        return -1;
    const char *c = line + 9;
    for (int i = 0; i < 3; i++)
        if (c[i] < '0' || c[i] > '9')
            return -1;
    if (c[3] != '\0' && c[3] != ' ')
        return -1;
    return (c[0] - '0') * 100 + (c[1] - '0') * 10 + (c[2] - '0');
}

int certa_net_tunnel(const struct certa_net_ctx *ctx, int fd, const char *authority)
{
    char req[600];
    int n = snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", authority, authority);
    if (n < 0 || (size_t)n >= sizeof(req))
        return certa_error_set(CERTA_EINVAL, "%s: host name too long", ctx->url);
    int rc = send_all(ctx, fd, req, (size_t)n);
    if (rc < 0)
        return rc;

    struct evbuffer *in = evbuffer_new();
    if (in == NULL)
        return certa_error_set(CERTA_ENOMEM, "%s: out of memory", ctx->url);
    int status = 0;   /* 0 until the status line is read */
    for (;;) {
        char *line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF);
        if (line != NULL) {
            int blank = line[0] == '\0';
            if (status == 0 && (status = status_code(line)) < 0)
                rc = certa_error_set(CERTA_ENET, "%s: the proxy did not answer CONNECT with HTTP", ctx->url);
            free(line);
            if (rc < 0 || (blank && status > 0))
                break;
            continue;
        }
        if (evbuffer_get_length(in) > MAX_REPLY) {
            rc = certa_error_set(CERTA_ENET, "%s: the proxy's reply to CONNECT is over %d bytes", ctx->url, MAX_REPLY);
            break;
        }
        if ((rc = wait_for(ctx, fd, POLLIN)) < 0)
            break;
        int got = evbuffer_read(in, fd, 4096);
        if (got < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (got <= 0) {
            rc = certa_error_set(CERTA_ENET, "%s: the proxy closed the connection before opening the tunnel%s%s",
                                 ctx->url, got < 0 ? ": " : "", got < 0 ? strerror(errno) : "");
            break;
        }
    }
    if (rc == 0 && (status < 200 || status > 299))
        rc = certa_error_set(CERTA_ENET, "%s: the proxy refused the tunnel to %s: HTTP %d", ctx->url, authority,
                             status);
    /* The server speaks only after our ClientHello: bytes past the blank
     * line did not come from it. */
    if (rc == 0 && evbuffer_get_length(in) > 0)
        rc = certa_error_set(CERTA_ENET, "%s: the proxy sent data after opening the tunnel", ctx->url);
    evbuffer_free(in);
    return rc;
}
