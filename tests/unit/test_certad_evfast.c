/* Unit tests for certad's evbuffer_add_printf (src/certad/evfast.c,
 * compiled in here as certad is a program): the two formats evhttp uses
 * for a response give exactly what printf gives, any other format (and
 * what does not fit the fast path) goes to libevent's own printf, and
 * libevent's evhttp really calls this definition when it sends a reply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include "../../src/certad/evfast.c"
#include "testutil.h"

/* What evbuffer_add_printf left in a fresh buffer, as a NUL-terminated copy. */
static char *drain(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = calloc(1, n + 1);
    assert_non_null(s);
    assert_int_equal(evbuffer_remove(b, s, n), (int)n);
    return s;
}

static void check_header(const char *k, const char *v)
{
    char want[2048];
    struct evbuffer *b = evbuffer_new();
    int n = snprintf(want, sizeof(want), "%s: %s\r\n", k, v);
    assert_int_equal(evbuffer_add_printf(b, "%s: %s\r\n", k, v), n);
    char *got = drain(b);
    assert_string_equal(got, want);
    free(got);
    evbuffer_free(b);
}

static void check_status(int major, int minor, int code, const char *reason)
{
    char want[1024];
    struct evbuffer *b = evbuffer_new();
    int n = snprintf(want, sizeof(want), "HTTP/%d.%d %d %s\r\n", major, minor, code, reason);
    assert_int_equal(evbuffer_add_printf(b, "HTTP/%d.%d %d %s\r\n", major, minor, code, reason), n);
    char *got = drain(b);
    assert_string_equal(got, want);
    free(got);
    evbuffer_free(b);
}

static void test_same_as_printf(void **st)
{
    (void)st;
    char big[700];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    unsigned long fast = certad_evfast_hits;
    check_header("Content-Type", "application/ocsp-response");
    check_header("ETag", "\"0bfdbf3b82b9452efcca6becd1d0217e\"");
    check_header("X-Empty", "");
    check_header("", "");
    assert_int_equal(certad_evfast_hits - fast, 4);
    check_header("X-Big", big);      /* past the fast path's line: printf */
    check_header(big, "v");
    assert_int_equal(certad_evfast_hits - fast, 4);
    check_status(1, 1, 200, "OK");
    check_status(1, 0, 304, "Not Modified");
    check_status(-1, 2147483647, -2147483647 - 1, "");
    check_status(1, 1, 599, big);
    assert_int_equal(certad_evfast_hits - fast, 7);
}

static void test_other_formats(void **st)
{
    (void)st;
    struct evbuffer *b = evbuffer_new();
    const char *volatile none = NULL;
    char want[256];
    snprintf(want, sizeof(want), "%s: %s\r\n", "Key", none);     /* "(null)" */
    assert_true(evbuffer_add_printf(b, "%s: %s\r\n", "Key", none) > 0);
    char *got = drain(b);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(evbuffer_add_printf(b, "%d-%s-%x", 42, "z", 255), 7);
    got = drain(b);
    assert_string_equal(got, "42-z-ff");
    free(got);
    assert_int_equal(evbuffer_add_printf(b, "%s", "plain"), 5);
    got = drain(b);
    assert_string_equal(got, "plain");
    free(got);
    evbuffer_free(b);
}

/* libevent's compare, as it is written there: the reference. */
static int reference_strcasecmp(const char *s1, const char *s2)
{
    for (;;) {
        char c1 = *s1++, c2 = *s2++;
        if (c1 >= 'A' && c1 <= 'Z')
            c1 = (char)(c1 + 32);
        if (c2 >= 'A' && c2 <= 'Z')
            c2 = (char)(c2 + 32);
        if (c1 < c2)
            return -1;
        if (c1 > c2)
            return 1;
        if (c1 == 0)
            return 0;
    }
}

static void test_strcasecmp(void **st)
{
    (void)st;
    static const char *const words[] = {
        "", "a", "A", "Content-Length", "content-length", "CONTENT-LENGTH", "Content-Type",
        "Connection", "close", "Close", "keep-alive", "Keep-Alive", "[", "{", "@", "`",
        "Z", "z", "\xc3\xa9", "\xc3\x89", "\x7f", "\x80", "\xff", "If-None-Match", "if-none-matcH",
    };
    size_t n = sizeof(words) / sizeof(words[0]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            assert_int_equal(evutil_ascii_strcasecmp(words[i], words[j]),
                             reference_strcasecmp(words[i], words[j]));
    /* Random bytes too, with shared prefixes. */
    srand(5019);
    for (int k = 0; k < 20000; k++) {
        char a[8], b[8];
        size_t la = (size_t)(rand() % 7), lb = (size_t)(rand() % 7);
        for (size_t i = 0; i < 7; i++) {
            a[i] = (char)(1 + rand() % 255);
            b[i] = rand() % 2 ? a[i] : (char)(1 + rand() % 255);
            if (rand() % 3 == 0 && a[i] >= 'a' && a[i] <= 'z')
                b[i] = (char)(a[i] - 32);
        }
        a[la] = '\0';
        b[lb] = '\0';
        assert_int_equal(evutil_ascii_strcasecmp(a, b), reference_strcasecmp(a, b));
    }
    /* libevent's header lookup compares with this definition. */
    struct evkeyvalq h = { NULL, NULL };
    h.tqh_last = &h.tqh_first;      /* TAILQ_INIT */
    evhttp_add_header(&h, "Content-Type", "text/plain");
    unsigned long hits = certad_evfast_hits;
    assert_string_equal(evhttp_find_header(&h, "content-type"), "text/plain");
    assert_null(evhttp_find_header(&h, "Content-Length"));
    assert_true(certad_evfast_hits - hits >= 2);
    evhttp_clear_headers(&h);
}

/* The end-to-end check: an evhttp server in this process answers one
 * request over a socket; its status line and headers come out right and
 * were assembled here, not by the C library's printf. */
static void reply_cb(struct evhttp_request *req, void *arg)
{
    (void)arg;
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Certa", "yes");
    evbuffer_add(evhttp_request_get_output_buffer(req), "body", 4);
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void test_evhttp_uses_it(void **st)
{
    (void)st;
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    assert_non_null(http);
    evhttp_set_gencb(http, reply_cb, NULL);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    assert_non_null(bs);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl), 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c >= 0);
    assert_int_equal(connect(c, (struct sockaddr *)&ss, sl), 0);
    const char rq[] = "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    assert_int_equal(write(c, rq, sizeof(rq) - 1), (ssize_t)(sizeof(rq) - 1));
    unsigned long fast = certad_evfast_hits;
    char got[4096];
    size_t n = 0;
    for (int turn = 0; turn < 2000; turn++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        ssize_t r = recv(c, got + n, sizeof(got) - 1 - n, MSG_DONTWAIT);
        if (r == 0)
            break;
        if (r > 0)
            n += (size_t)r;
        else
            usleep(1000);
    }
    got[n] = '\0';
    close(c);
    assert_true(strncmp(got, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(got, "\r\nX-Certa: yes\r\n"));
    assert_non_null(strstr(got, "\r\nContent-Length: 4\r\n"));
    assert_non_null(strstr(got, "\r\n\r\nbody"));
    /* The status line and every header: libevent's calls came here. */
    assert_true(certad_evfast_hits - fast >= 4);
    evhttp_free(http);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_printf),
        cmocka_unit_test(test_other_formats),
        cmocka_unit_test(test_strcasecmp),
        cmocka_unit_test(test_evhttp_uses_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
