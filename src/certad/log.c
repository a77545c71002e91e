/* certad's log: one key=value line per request and per event on stderr.
 * A worker collects its lines and writes them out together once its loop
 * has handled everything that was ready (or when the buffer is full, or
 * after 100 ms at most): one write(2) of whole lines, at most PIPE_BUF
 * bytes, so lines from several workers never mix, even on a pipe.
 * Values that could carry client-chosen bytes are escaped; bodies and
 * query strings (which may hold challenge passwords) are never logged. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include "certa/log.h"
#include "certad.h"

struct certad_logbuf {
    char data[4096];            /* PIPE_BUF: one write is atomic on a pipe */
    size_t len;
    struct event *idle_ev;      /* lowest priority: runs when the loop is done */
    struct event *timer_ev;     /* the bound on delay under constant load */
};

static _Thread_local struct certad_logbuf *thread_buf;

static void write_all(const char *p, size_t n)
{
    ssize_t w = write(STDERR_FILENO, p, n);
    (void)w;    /* nowhere to report a failing stderr */
}

static void flush_buf(struct certad_logbuf *b)
{
    if (b->len > 0)
        write_all(b->data, b->len);
    b->len = 0;
    event_del(b->timer_ev);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush_buf(arg);
}

struct certad_logbuf *certad_logbuf_new(struct event_base *base)
{
    struct certad_logbuf *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->idle_ev = event_new(base, -1, 0, on_flush, b);
    b->timer_ev = evtimer_new(base, on_flush, b);
    if (b->idle_ev == NULL || b->timer_ev == NULL ||
        event_priority_set(b->idle_ev, CERTAD_PRIORITIES - 1) < 0) {
        certad_logbuf_free(b);
        return NULL;
    }
    return b;
}

void certad_logbuf_free(struct certad_logbuf *b)
{
    if (b == NULL)
        return;
    if (thread_buf == b)
        thread_buf = NULL;
    if (b->timer_ev != NULL)
        flush_buf(b);
    if (b->idle_ev)
        event_free(b->idle_ev);
    if (b->timer_ev)
        event_free(b->timer_ev);
    free(b);
}

void certad_logbuf_flush(struct certad_logbuf *b)
{
    if (b != NULL)
        flush_buf(b);
}

void certad_logbuf_attach(struct certad_logbuf *b)
{
    thread_buf = b;
}

/* "2026-12-01T08:09:54.680Z"; the formatted second is kept per thread.
 * Returns the length written (buf needs 25 bytes). */
static size_t timestamp(char *buf)
{
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[24];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
        cached_sec = tv.tv_sec;
    }
    size_t n = strlen(cached);
    int ms = (int)(tv.tv_usec / 1000);
    memcpy(buf, cached, n);
    buf[n++] = '.';
    buf[n++] = (char)('0' + ms / 100);
    buf[n++] = (char)('0' + ms / 10 % 10);
    buf[n++] = (char)('0' + ms % 10);
    buf[n++] = 'Z';
    buf[n] = '\0';
    return n;
}

/* The request line is formatted by hand: snprintf was a seventh of the
 * CPU certad spends on a cached OCSP answer. */
struct line {
    char *p;
    size_t n, cap;
};

static void put_raw(struct line *l, const char *s, size_t len)
{
    if (l->n + len > l->cap)
        len = l->cap - l->n;
    memcpy(l->p + l->n, s, len);
    l->n += len;
}

#define PUT_LIT(l, s) put_raw((l), (s), sizeof(s) - 1)

static void put_uint(struct line *l, unsigned long long v)
{
    char digits[CERTA_U64_DECIMAL_MAX];
    size_t n = certa_u64_decimal(v, digits);
    put_raw(l, digits, n < sizeof(digits) ? n : sizeof(digits) - 1);   /* bound for the compiler */
}

/* Which bytes a token keeps as they are: printable ASCII except space,
 * quote and backslash (bit 0), and, in quoted free text, space too (bit 1). */
#define PLAIN(c) ((c) > 0x20 && (c) < 0x7f && (c) != '"' && (c) != '\\' ? 3 : (c) == ' ' ? 2 : 0)
#define PLAIN4(c) PLAIN(c), PLAIN((c) + 1), PLAIN((c) + 2), PLAIN((c) + 3)
#define PLAIN16(c) PLAIN4(c), PLAIN4((c) + 4), PLAIN4((c) + 8), PLAIN4((c) + 12)
#define PLAIN64(c) PLAIN16(c), PLAIN16((c) + 16), PLAIN16((c) + 32), PLAIN16((c) + 48)
static const unsigned char plain_class[256] = { PLAIN64(0), PLAIN64(64), PLAIN64(128), PLAIN64(192) };

/* Appends v as one token: printable ASCII except space, quote and
 * backslash kept, the rest %XX (paths arrive %-encoded already, so they
 * read as sent); quoted, with spaces kept, when the caller wants free text.
 * This runs for every request. */
static size_t put_value(char *out, size_t pos, size_t cap, const char *v, int quoted)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char mask = quoted ? 2 : 1;
    if (v == NULL || *v == '\0')
        v = "-";
    if (quoted && pos < cap)
        out[pos++] = '"';
    const unsigned char *p = (const unsigned char *)v;
    while (*p && pos + 4 < cap) {
        const unsigned char *run = p;
        while (plain_class[*p] & mask)
            p++;
        size_t n = (size_t)(p - run);
        if (n > cap - 4 - pos)
            n = cap - 4 - pos;
        memcpy(out + pos, run, n);
        pos += n;
        if (*p == '\0' || pos + 4 >= cap)
            break;
        out[pos++] = '%';
        out[pos++] = hex[*p >> 4];
        out[pos++] = hex[*p & 15];
        p++;
    }
    if (quoted && pos < cap)
        out[pos++] = '"';
    return pos;
}

static void emit(char *line, size_t len, size_t cap)
{
    struct certad_logbuf *b = thread_buf;
    if (len >= cap)
        len = cap - 1;
    line[len++] = '\n';
    if (b == NULL) {
        write_all(line, len);
        return;
    }
    if (b->len + len > sizeof(b->data))
        flush_buf(b);
    if (b->len == 0) {
        struct timeval tv = { 0, 100 * 1000 };
        event_active(b->idle_ev, EV_TIMEOUT, 0);
        evtimer_add(b->timer_ev, &tv);
    }
    memcpy(b->data + b->len, line, len);
    b->len += len;
}

void certad_log_request(const struct certad_logrec *r)
{
    char buf[1024], ts[32];
    struct line l = { buf, 0, sizeof(buf) - 1 };
    size_t tn = timestamp(ts);
    PUT_LIT(&l, "time=");
    put_raw(&l, ts, tn < sizeof(ts) ? tn : sizeof(ts) - 1);
    PUT_LIT(&l, " worker=");
    put_uint(&l, (unsigned)(r->worker < 0 ? 0 : r->worker));
    PUT_LIT(&l, " remote=");
    l.n = put_value(l.p, l.n, l.cap, r->remote, 0);
    PUT_LIT(&l, " tls=");
    put_uint(&l, r->tls != 0);
    if (r->client != NULL) {
        PUT_LIT(&l, " client=");
        l.n = put_value(l.p, l.n, l.cap, r->client, 1);
    }
    PUT_LIT(&l, " method=");
    l.n = put_value(l.p, l.n, l.cap, r->method, 0);
    PUT_LIT(&l, " path=");
    l.n = put_value(l.p, l.n, l.cap, r->path, 0);
    PUT_LIT(&l, " status=");
    put_uint(&l, (unsigned)(r->status < 0 ? 0 : r->status));
    PUT_LIT(&l, " bytes=");
    put_uint(&l, r->bytes);
    /* Milliseconds with three decimals, rounded to the microsecond. */
    unsigned long long us = r->ms > 0 ? (unsigned long long)(r->ms * 1000.0 + 0.5) : 0;
    char frac[4] = { (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10), (char)('0' + us % 10), 0 };
    PUT_LIT(&l, " ms=");
    put_uint(&l, us / 1000);
    PUT_LIT(&l, ".");
    put_raw(&l, frac, 3);
    PUT_LIT(&l, " detail=");
    l.n = put_value(l.p, l.n, l.cap, r->detail, 1);
    emit(buf, l.n, sizeof(buf));
}

void certad_log(const char *level, const char *fmt, ...)
{
    char line[1024], ts[40], msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    timestamp(ts);
    size_t n = (size_t)snprintf(line, sizeof(line) - 1, "time=%s level=%s msg=", ts, level);
    n = put_value(line, n, sizeof(line) - 1, msg, 1);
    emit(line, n, sizeof(line));
}

/* libevent's own warnings (accept failures, ...). Its callback must not call
 * back into libevent, so these lines bypass the worker's buffer. */
static void event_log(int severity, const char *msg)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    char line[1024], ts[40], text[800];
    timestamp(ts);
    snprintf(text, sizeof(text), "libevent: %s", msg);
    size_t n = (size_t)snprintf(line, sizeof(line) - 1, "time=%s level=%s msg=", ts,
                                names[severity < 0 ? 0 : severity > 3 ? 3 : severity]);
    n = put_value(line, n, sizeof(line) - 1, text, 1);
    line[n++] = '\n';
    write_all(line, n);
}

static void sink(int level, const char *line, void *arg)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    (void)arg;
    certad_log(names[level < 0 ? 0 : level > 3 ? 3 : level], "%s", line);
}

void certad_log_init(void)
{
    certa_log_set_sink(sink, NULL);
    event_set_log_callback(event_log);
}
