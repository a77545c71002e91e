/* Unit tests for lib/net/http_client.c against real peers on loopback:
 * Python's http.server (plain, TLS with a certificate made by openssl req,
 * IPv6), tinyproxy as a forward proxy. GET and POST, status passed through,
 * counted, chunked and close-delimited bodies, the body bound, a server
 * closing mid-body, timeouts, the source address, TLS verification,
 * proxies (absolute-form and CONNECT), unreachable peers and bad routes. */
#include "testutil.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "certa/http_client.h"

static const char server_py[] =
    "import http.server, socketserver, socket, ssl, sys, threading, time, os\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def log_message(self, *a): pass\n"
    "    def reply(self, code, body, ctype='text/plain'):\n"
    "        self.send_response(code); self.send_header('Content-Type', ctype)\n"
    "        self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)\n"
    "    def chunked(self, parts):\n"
    "        self.send_response(200); self.send_header('Content-Type', 'text/plain')\n"
    "        self.send_header('Transfer-Encoding', 'chunked'); self.end_headers()\n"
    "        for p in parts: self.wfile.write(b'%x\\r\\n%s\\r\\n' % (len(p), p))\n"
    "        self.wfile.write(b'0\\r\\n\\r\\n')\n"
    "    def unbounded(self, head, body, then_sleep=0):\n"
    "        self.send_response(200); self.send_header('Content-Type', 'text/plain')\n"
    "        for k, v in head: self.send_header(k, v)\n"
    "        self.end_headers(); self.wfile.write(body); self.wfile.flush()\n"
    "        time.sleep(then_sleep); self.close_connection = True\n"
    "    def do_GET(self):\n"
    "        p = self.path\n"
    "        if p == '/peer': self.reply(200, self.client_address[0].encode())\n"
    "        elif p == '/headers':\n"
    "            h = self.headers\n"
    "            self.reply(200, ('%s|%s|%s' % (h['Host'], h['Connection'], h['Proxy-Connection'])).encode())\n"
    "        elif p == '/big': self.reply(200, b'x' * 300000)\n"
    "        elif p == '/slow': time.sleep(4); self.reply(200, b'late')\n"
    "        elif p == '/chunked': self.chunked([b'hello ', b'chunked ', b'world'])\n"
    "        elif p == '/chunked-big': self.chunked([b'c' * 1000] * 200)\n"
    "        elif p == '/nolen': self.unbounded([], b'until the end')\n"
    "        elif p == '/nolen-big': self.unbounded([], b'n' * 300000)\n"
    "        elif p == '/cut': self.unbounded([('Content-Length', '1000')], b'y' * 10)\n"
    "        elif p == '/stall': self.unbounded([('Content-Length', '100')], b'z' * 10, 4)\n"
    "        else: self.reply(404, b'no such thing')\n"
    "    def do_POST(self):\n"
    "        n = int(self.headers['Content-Length'])\n"
    "        self.reply(201, self.rfile.read(n), self.headers['Content-Type'])\n"
    "class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True\n"
    "class S6(S): address_family = socket.AF_INET6\n"
    "def serve(s): threading.Thread(target=s.serve_forever, daemon=True).start(); return s.server_address[1]\n"
    "plain = serve(S(('0.0.0.0', 0), H))\n"
    "tls = 0\n"
    "if len(sys.argv) > 3:\n"
    "    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[2], sys.argv[3])\n"
    "    t = S(('0.0.0.0', 0), H); t.socket = ctx.wrap_socket(t.socket, server_side=True); tls = serve(t)\n"
    "try: v6 = serve(S6(('::1', 0), H))\n"
    "except OSError: v6 = 0\n"
    "open(sys.argv[1] + '.tmp', 'w').write('%d %d %d' % (plain, tls, v6)); os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
    "while True: time.sleep(3600)\n";

static char *dir;
static int port, tls_port, v6_port;
static char base[64];
static char cert[512], other_cert[512];

/* A self-signed certificate for the TLS server (127.0.0.1 and localhost)
 * and another one, trusted in its place to see the server refused. */
static int make_certs(void)
{
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(other_cert, sizeof(other_cert), "%s/other.pem", dir);
    return test_sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
                   "-subj /CN=certa-test -addext subjectAltName=IP:127.0.0.1,DNS:localhost "
                   "-keyout %s/key.pem -out %s 2>/dev/null && "
                   "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
                   "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
                   "-keyout %s/other.key -out %s 2>/dev/null",
                   dir, cert, dir, other_cert);
}

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
    if (make_certs() != 0)
        cert[0] = '\0';   /* the TLS cases skip */
    char keys[1100] = "";
    if (cert[0])
        snprintf(keys, sizeof(keys), "%s %s/key.pem", cert, dir);
    if (test_sh("python3 %s %s %s & echo $! > %s/pid", path, portfile, keys, dir) != 0)
        return -1;
    for (int i = 0; i < 100 && access(portfile, R_OK) != 0; i++)
        usleep(50000);
    f = fopen(portfile, "r");
    if (f == NULL || fscanf(f, "%d %d %d", &port, &tls_port, &v6_port) != 3)
        return -1;
    fclose(f);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_sh("kill $(cat %s/pid) 2>/dev/null", dir);
    /* test_proxy's tinyproxy, when a failed assertion left it running. */
    test_sh("[ -f %s/tinyproxy.run ] && kill $(cat %s/tinyproxy.run) 2>/dev/null", dir, dir);
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
    assert_int_equal(certa_http_fetch("http://", NULL, NULL, NULL, 0, &r), CERTA_EINVAL);
    assert_int_equal(certa_http_fetch("no url at all", NULL, NULL, NULL, 0, &r), CERTA_EINVAL);
    /* A CR LF in the URL would become a header of the request. */
    snprintf(u, sizeof(u), "%s/peer\r\nX-Injected: 1", base);
    assert_int_equal(certa_http_fetch(u, NULL, NULL, NULL, 0, &r), CERTA_EINVAL);
    assert_non_null(strstr(certa_error_last(), "control character"));
    assert_int_equal(certa_http_fetch("http://nosuchhost.invalid/x", NULL, NULL, NULL, 0, &r), CERTA_ENET);
    assert_non_null(strstr(certa_error_last(), "cannot resolve"));
}

static void test_request_headers(void **state)
{
    (void)state;
    char u[128], want[128];
    struct certa_http_result r;
    url(u, sizeof(u), "/headers");
    assert_int_equal(certa_http_fetch(u, NULL, NULL, NULL, 0, &r), 0);
    /* One exchange per connection, said in the request. */
    snprintf(want, sizeof(want), "127.0.0.1:%d|close|None", port);
    assert_string_equal((char *)r.body.data, want);
    certa_http_result_clear(&r);
}

static void test_large_post(void **state)
{
    (void)state;
    char u[128];
    size_t n = 600000;
    unsigned char *body = malloc(n);
    assert_non_null(body);
    for (size_t i = 0; i < n; i++)
        body[i] = (unsigned char)(i * 7);
    struct certa_http_result r;
    url(u, sizeof(u), "/echo");
    assert_int_equal(certa_http_fetch(u, NULL, "application/pkixcmp", body, n, &r), 0);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.body.len, n);
    assert_memory_equal(r.body.data, body, n);
    certa_http_result_clear(&r);
    free(body);
}

static void test_chunked(void **state)
{
    (void)state;
    char u[128];
    struct certa_http_result r;
    url(u, sizeof(u), "/chunked");
    assert_int_equal(certa_http_fetch(u, NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal((char *)r.body.data, "hello chunked world");
    certa_http_result_clear(&r);

    /* 200 chunks of 1000 bytes: no Content-Length to refuse it early. */
    struct certa_http_route route = { .max_response = 100000 };
    url(u, sizeof(u), "/chunked-big");
    assert_int_equal(certa_http_fetch(u, &route, NULL, NULL, 0, &r), CERTA_ETOOBIG);
    assert_null(r.body.data);
    assert_int_equal(certa_http_fetch(u, NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.body.len, 200000);
    certa_http_result_clear(&r);
}

static void test_close_delimited(void **state)
{
    (void)state;
    char u[128];
    struct certa_http_result r;
    url(u, sizeof(u), "/nolen");
    assert_int_equal(certa_http_fetch(u, NULL, NULL, NULL, 0, &r), 0);
    assert_string_equal((char *)r.body.data, "until the end");
    certa_http_result_clear(&r);

    struct certa_http_route route = { .max_response = 100000 };
    url(u, sizeof(u), "/nolen-big");
    assert_int_equal(certa_http_fetch(u, &route, NULL, NULL, 0, &r), CERTA_ETOOBIG);
    assert_non_null(strstr(certa_error_last(), "larger than 100000 bytes"));
    assert_null(r.body.data);
}

static void test_cut_and_stall(void **state)
{
    (void)state;
    char u[128];
    struct certa_http_result r;
    /* Content-Length 1000, 10 bytes, then the server closes. */
    url(u, sizeof(u), "/cut");
    assert_int_equal(certa_http_fetch(u, NULL, NULL, NULL, 0, &r), CERTA_ENET);
    assert_non_null(strstr(certa_error_last(), "closed before the whole response"));
    assert_null(r.body.data);

    /* Headers and part of the body, then silence: the timeout covers the
     * whole transfer, not only the wait for the first byte. */
    struct certa_http_route slow = { .timeout_s = 1 };
    url(u, sizeof(u), "/stall");
    assert_int_equal(certa_http_fetch(u, &slow, NULL, NULL, 0, &r), CERTA_ETIMEOUT);
    assert_non_null(strstr(certa_error_last(), "no answer within 1 s"));
}

static void test_ipv6_literal(void **state)
{
    (void)state;
    if (v6_port == 0)
        skip();   /* no IPv6 loopback here */
    char u[128], want[64];
    struct certa_http_result r;
    snprintf(u, sizeof(u), "http://[::1]:%d/peer", v6_port);
    assert_int_equal(certa_http_fetch(u, NULL, NULL, NULL, 0, &r), 0);
    assert_string_equal((char *)r.body.data, "::1");
    certa_http_result_clear(&r);
    snprintf(u, sizeof(u), "http://[::1]:%d/headers", v6_port);
    assert_int_equal(certa_http_fetch(u, NULL, NULL, NULL, 0, &r), 0);
    snprintf(want, sizeof(want), "[::1]:%d|close|None", v6_port);
    assert_string_equal((char *)r.body.data, want);
    certa_http_result_clear(&r);
}

static void test_environment_proxy_ignored(void **state)
{
    (void)state;
    static const char *const vars[] = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                        "ALL_PROXY" };
    char u[128];
    struct certa_http_result r;
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        setenv(vars[i], "http://127.0.0.1:1", 1);
    url(u, sizeof(u), "/peer");
    int rc = certa_http_fetch(u, NULL, NULL, NULL, 0, &r);
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    assert_int_equal(rc, 0);
    assert_string_equal((char *)r.body.data, "127.0.0.1");
    certa_http_result_clear(&r);
}

static void test_tls(void **state)
{
    (void)state;
    if (cert[0] == '\0' || tls_port == 0)
        skip();
    char u[128], want[64];
    struct certa_http_result r;
    /* OpenSSL's default verify paths honour SSL_CERT_FILE. */
    setenv("SSL_CERT_FILE", cert, 1);
    snprintf(u, sizeof(u), "https://127.0.0.1:%d/peer", tls_port);
    assert_int_equal(certa_http_fetch(u, NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal((char *)r.body.data, "127.0.0.1");
    certa_http_result_clear(&r);

    /* By name: SNI and the DNS SAN (localhost may try ::1 first, where
     * nothing listens on this port: the next address is tried). */
    snprintf(u, sizeof(u), "https://localhost:%d/headers", tls_port);
    assert_int_equal(certa_http_fetch(u, NULL, NULL, NULL, 0, &r), 0);
    snprintf(want, sizeof(want), "localhost:%d|close|None", tls_port);
    assert_string_equal((char *)r.body.data, want);
    certa_http_result_clear(&r);

    /* POST over TLS. */
    snprintf(u, sizeof(u), "https://127.0.0.1:%d/echo", tls_port);
    assert_int_equal(certa_http_fetch(u, NULL, "application/pkcs10", "MIIB", 4, &r), 0);
    assert_int_equal(r.status, 201);
    assert_string_equal((char *)r.body.data, "MIIB");
    certa_http_result_clear(&r);

    /* The same server reached as 127.0.0.2: its certificate names
     * 127.0.0.1 only. */
    snprintf(u, sizeof(u), "https://127.0.0.2:%d/peer", tls_port);
    assert_int_equal(certa_http_fetch(u, NULL, NULL, NULL, 0, &r), CERTA_ENET);
    assert_non_null(strstr(certa_error_last(), "certificate was refused: IP address mismatch"));
    assert_null(r.body.data);

    /* Trusting another certificate: the server's is not trusted. */
    setenv("SSL_CERT_FILE", other_cert, 1);
    snprintf(u, sizeof(u), "https://127.0.0.1:%d/peer", tls_port);
    assert_int_equal(certa_http_fetch(u, NULL, NULL, NULL, 0, &r), CERTA_ENET);
    assert_non_null(strstr(certa_error_last(), "certificate was refused: self-signed certificate"));
    unsetenv("SSL_CERT_FILE");

    /* https:// to a server speaking plain HTTP. */
    url(u, sizeof(u), "/peer");
    char su[140];
    snprintf(su, sizeof(su), "https://%s", u + strlen("http://"));
    assert_int_equal(certa_http_fetch(su, NULL, NULL, NULL, 0, &r), CERTA_ENET);
    assert_non_null(strstr(certa_error_last(), "TLS failed"));
}

static int free_port(void)
{
    char path[600];
    int p = 0;
    snprintf(path, sizeof(path), "%s/free_port", dir);
    if (test_sh("python3 -c 'import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); "
                "print(s.getsockname()[1])' > %s", path) != 0)
        return 0;
    FILE *f = fopen(path, "r");
    if (f == NULL || fscanf(f, "%d", &p) != 1)
        p = 0;
    if (f != NULL)
        fclose(f);
    return p;
}

/* tinyproxy on loopback, its upstream connections bound to 127.0.0.3 so a
 * server sees that a request came through it; CONNECT only to the TLS
 * port. */
static int start_tinyproxy(int *pport)
{
    char conf[600];
    if ((*pport = free_port()) == 0)
        return -1;
    snprintf(conf, sizeof(conf), "%s/tinyproxy.conf", dir);
    FILE *f = fopen(conf, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "Port %d\nListen 127.0.0.1\nBind 127.0.0.3\nTimeout 30\nLogFile \"%s/tinyproxy.log\"\n"
               "LogLevel Info\nPidFile \"%s/tinyproxy.pid\"\nMaxClients 10\nAllow 127.0.0.1\nConnectPort %d\n",
            *pport, dir, dir, tls_port ? tls_port : 1);
    fclose(f);
    if (test_sh("tinyproxy -d -c %s >%s/tinyproxy.out 2>&1 & echo $! > %s/tinyproxy.run", conf, dir, dir) != 0)
        return -1;
    for (int i = 0; i < 100; i++) {
        if (test_sh("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", %d), 0.2)' 2>/dev/null",
                    *pport) == 0)
            return 0;
        usleep(50000);
    }
    return -1;
}

static void test_proxy(void **state)
{
    (void)state;
    if (test_sh("command -v tinyproxy >/dev/null") != 0)
        skip();   /* scripts/deps.sh installs it */
    int pport;
    assert_int_equal(start_tinyproxy(&pport), 0);
    char u[128], proxy[64];
    struct certa_http_result r;
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", pport);
    struct certa_http_route route = { .proxy = proxy };

    /* http: the absolute-form request goes to the proxy, which asks the
     * server from 127.0.0.3. */
    url(u, sizeof(u), "/peer");
    assert_int_equal(certa_http_fetch(u, &route, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal((char *)r.body.data, "127.0.0.3");
    certa_http_result_clear(&r);
    assert_int_equal(test_sh("grep -q 'GET http://127.0.0.1:%d/peer HTTP/1.1' %s/tinyproxy.log", port, dir), 0);

    /* A proxy written without its scheme is an http one. */
    snprintf(proxy, sizeof(proxy), "127.0.0.1:%d", pport);
    url(u, sizeof(u), "/pkiclient.exe");
    assert_int_equal(certa_http_fetch(u, &route, "application/x-pki-message", "\x30\x00", 2, &r), 0);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.body.len, 2);
    certa_http_result_clear(&r);

    if (cert[0] != '\0' && tls_port != 0) {
        /* https: a CONNECT tunnel, TLS end to end through it. */
        setenv("SSL_CERT_FILE", cert, 1);
        snprintf(u, sizeof(u), "https://127.0.0.1:%d/peer", tls_port);
        assert_int_equal(certa_http_fetch(u, &route, NULL, NULL, 0, &r), 0);
        assert_string_equal((char *)r.body.data, "127.0.0.3");
        certa_http_result_clear(&r);
        unsetenv("SSL_CERT_FILE");
        assert_int_equal(test_sh("grep -q 'CONNECT 127.0.0.1:%d HTTP/1.1' %s/tinyproxy.log", tls_port, dir), 0);
    }

    /* The proxy refuses CONNECT to any port but the TLS one. */
    snprintf(u, sizeof(u), "https://127.0.0.1:%d/peer", port);
    assert_int_equal(certa_http_fetch(u, &route, NULL, NULL, 0, &r), CERTA_ENET);
    assert_non_null(strstr(certa_error_last(), "refused the tunnel"));
    assert_non_null(strstr(certa_error_last(), "HTTP 403"));

    test_sh("kill $(cat %s/tinyproxy.run) 2>/dev/null && rm %s/tinyproxy.run", dir, dir);

    /* A proxy that is not there, and one of a kind not spoken. */
    struct certa_http_route dead = { .proxy = "http://127.0.0.1:1" };
    url(u, sizeof(u), "/peer");
    assert_int_equal(certa_http_fetch(u, &dead, NULL, NULL, 0, &r), CERTA_ENET);
    assert_non_null(strstr(certa_error_last(), "proxy 127.0.0.1 port 1 unreachable"));
    struct certa_http_route socks = { .proxy = "socks5://127.0.0.1:1080" };
    assert_int_equal(certa_http_fetch(u, &socks, NULL, NULL, 0, &r), CERTA_EUNSUPPORTED);
}

/* DNS that never answers: in a mount namespace of its own, a child points
 * /etc/resolv.conf at a UDP socket on loopback that reads nothing, with
 * the resolver told to wait 20 s. The fetch's 2 s timeout covers the
 * lookup: CERTA_ETIMEOUT naming it, well before the resolver gives up. */
static int stalled_dns_child(const char *dir)
{
    char conf[512];
    snprintf(conf, sizeof(conf), "%s/resolv.conf", dir);
    FILE *f = fopen(conf, "w");
    if (f == NULL)
        return 10;
    fputs("nameserver 127.0.0.77\noptions timeout:20 attempts:1\n", f);
    fclose(f);
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount(conf, "/etc/resolv.conf", NULL, MS_BIND, NULL) != 0)
        return 77;
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(53) };
    inet_pton(AF_INET, "127.0.0.77", &a.sin_addr);
    if (udp < 0 || bind(udp, (struct sockaddr *)&a, sizeof(a)) != 0)
        return 77;
    struct certa_http_route route = { .timeout_s = 2 };
    struct certa_http_result r = { 0 };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = certa_http_fetch("http://stall.certa-test.invalid:8080/x", &route, NULL, NULL, 0, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    certa_http_result_clear(&r);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc != CERTA_ETIMEOUT)
        return 11;
    if (strstr(certa_error_last(), "looking up the host stall.certa-test.invalid") == NULL)
        return 12;
    return s >= 1.5 && s < 5 ? 0 : 13;
}

static void test_dns_timeout(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(stalled_dns_child(dir));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip(); /* no mount namespace here (not root) */
    assert_int_equal(WEXITSTATUS(status), 0);
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
        cmocka_unit_test(test_request_headers),
        cmocka_unit_test(test_large_post),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_close_delimited),
        cmocka_unit_test(test_cut_and_stall),
        cmocka_unit_test(test_ipv6_literal),
        cmocka_unit_test(test_environment_proxy_ignored),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_proxy),
        cmocka_unit_test(test_dns_timeout),
        cmocka_unit_test(test_urlencode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
