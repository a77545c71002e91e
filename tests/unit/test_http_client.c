/* Unit tests for lib/net/http_client.c against a real HTTP server (Python's
 * http.server on loopback): GET and POST, status passed through, the body
 * bound, the source address, timeouts, unreachable peers and bad routes. */
#include "testutil.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "certa/http_client.h"

static const char server_py[] =
    "import http.server, socketserver, sys, time\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def log_message(self, *a): pass\n"
    "    def reply(self, code, body, ctype='text/plain'):\n"
    "        self.send_response(code); self.send_header('Content-Type', ctype)\n"
    "        self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)\n"
    "    def do_GET(self):\n"
    "        if self.path == '/peer': self.reply(200, self.client_address[0].encode())\n"
    "        elif self.path == '/big': self.reply(200, b'x' * 300000)\n"
    "        elif self.path == '/slow': time.sleep(4); self.reply(200, b'late')\n"
    "        else: self.reply(404, b'no such thing')\n"
    "    def do_POST(self):\n"
    "        n = int(self.headers['Content-Length'])\n"
    "        self.reply(201, self.rfile.read(n), self.headers['Content-Type'])\n"
    "class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True\n"
    "s = S(('0.0.0.0', 0), H)\n"
    "open(sys.argv[1] + '.tmp', 'w').write(str(s.server_address[1])); __import__('os').rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
    "s.serve_forever()\n";

static char *dir;
static int port;
static char base[64];

static int setup(void **state)
{
    (void)state;
    char path[512], portfile[512];
    dir = test_tmpdir("http_client");
    snprintf(path, sizeof(path), "%s/server.py", dir);
    snprintf(portfile, sizeof(portfile), "%s/port", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(server_py, f);
    fclose(f);
    if (test_sh("python3 %s %s & echo $! > %s/pid", path, portfile, dir) != 0)
        return -1;
    for (int i = 0; i < 100 && access(portfile, R_OK) != 0; i++)
        usleep(50000);
    f = fopen(portfile, "r");
    if (f == NULL || fscanf(f, "%d", &port) != 1)
        return -1;
    fclose(f);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_sh("kill $(cat %s/pid) 2>/dev/null", dir);
    test_tmpdir_remove(dir);
    return 0;
}

static void url(char *out, size_t len, const char *path)
{
    snprintf(out, len, "%s%s", base, path);
}

static void test_get_and_status(void **state)
{
    (void)state;
    char u[128];
    struct certa_http_result r;
    url(u, sizeof(u), "/peer");
    assert_int_equal(certa_http_fetch(u, NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/plain");
    assert_int_equal(r.body.len, strlen("127.0.0.1"));
    assert_memory_equal(r.body.data, "127.0.0.1", r.body.len);
    certa_http_result_clear(&r);

    /* A 404 is an answer, not a transport failure: the caller judges it. */
    url(u, sizeof(u), "/nothing");
    assert_int_equal(certa_http_fetch(u, NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    certa_http_result_clear(&r);
}

static void test_post(void **state)
{
    (void)state;
    char u[128];
    const unsigned char body[] = { 0x30, 0x03, 0x02, 0x01, 0x00, 0x0a };
    struct certa_http_result r;
    url(u, sizeof(u), "/pkiclient.exe");
    assert_int_equal(certa_http_fetch(u, NULL, "application/x-pki-message", body, sizeof(body), &r), 0);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.content_type, "application/x-pki-message");
    assert_int_equal(r.body.len, sizeof(body));
    assert_memory_equal(r.body.data, body, sizeof(body));
    certa_http_result_clear(&r);
}

static void test_bound(void **state)
{
    (void)state;
    char u[128];
    struct certa_http_route route = { .max_response = 100000 };
    struct certa_http_result r;
    url(u, sizeof(u), "/big");
    assert_int_equal(certa_http_fetch(u, &route, NULL, NULL, 0, &r), CERTA_ETOOBIG);
    assert_null(r.body.data);
    route.max_response = 0;    /* the default bound (1 MiB) lets it through */
    assert_int_equal(certa_http_fetch(u, &route, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.body.len, 300000);
    certa_http_result_clear(&r);
}

static void test_source_ip(void **state)
{
    (void)state;
    char u[128];
    struct certa_http_route route = { .source_ip = "127.0.0.2" };
    struct certa_http_result r;
    url(u, sizeof(u), "/peer");
    assert_int_equal(certa_http_fetch(u, &route, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.body.len, strlen("127.0.0.2"));
    assert_memory_equal(r.body.data, "127.0.0.2", r.body.len);
    certa_http_result_clear(&r);
}

static void test_failures(void **state)
{
    (void)state;
    char u[128];
    struct certa_http_result r;
    struct certa_http_route slow = { .timeout_s = 1 };
    url(u, sizeof(u), "/slow");
    assert_int_equal(certa_http_fetch(u, &slow, NULL, NULL, 0, &r), CERTA_ETIMEOUT);
    assert_non_null(strstr(certa_error_last(), "no answer within 1 s"));

    /* Port 1 on loopback: nothing listens there. */
    assert_int_equal(certa_http_fetch("http://127.0.0.1:1/scep", NULL, NULL, NULL, 0, &r), CERTA_ENET);
    assert_non_null(strstr(certa_error_last(), "unreachable"));

    struct certa_http_route ns = { .netns = "certa-no-such-namespace" };
    url(u, sizeof(u), "/peer");
    assert_int_equal(certa_http_fetch(u, &ns, NULL, NULL, 0, &r), CERTA_ENET);
    assert_non_null(strstr(certa_error_last(), "certa-no-such-namespace"));

    struct certa_http_route dev = { .interface = "nosuchif0" };
    assert_int_equal(certa_http_fetch(u, &dev, NULL, NULL, 0, &r), CERTA_ENET);
    assert_non_null(strstr(certa_error_last(), "nosuchif0"));

    assert_int_equal(certa_http_fetch("ftp://127.0.0.1/x", NULL, NULL, NULL, 0, &r), CERTA_EINVAL);
}

static void test_urlencode(void **state)
{
    (void)state;
    certa_buf b = { 0 };
    assert_int_equal(certa_http_urlencode("MIIB+/x=\n", 9, &b), 0);
    assert_string_equal((char *)b.data, "MIIB%2B%2Fx%3D%0A");
    certa_buf_free(&b);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_and_status),
        cmocka_unit_test(test_post),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_source_ip),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_urlencode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
