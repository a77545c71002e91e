/* Unit tests for certad's router (longest prefix over the services' paths)
 * and its config parser (listen addresses, strict [server] keys, module
 * sections). The sources are compiled into this test directly: certad is a
 * program, not a library. The services here exist only in this test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../src/certad/config.c"
#include "../../src/certad/router.c"
#include "testutil.h"

static int handle_stub(void *state, certa_ca *ca, const struct certa_http_request *req,
                       struct certa_http_response *res)
{
    (void)state;
    (void)ca;
    (void)req;
    (void)res;
    return 0;
}

static const char *const scep_paths[] = { "/scep", "/cgi-bin/pkiclient.exe", NULL };
static const char *const ocsp_paths[] = { "/ocsp", "/ocsp/", NULL };
static const char *const pub_paths[] = { "/crl/", "/ca/", NULL };
static const char *const pub_special_paths[] = { "/crl/special/", NULL };
static const struct certa_service scep = { .name = "scep", .paths = scep_paths, .handle = handle_stub };
static const struct certa_service ocsp = { .name = "ocsp", .paths = ocsp_paths, .handle = handle_stub };
static const struct certa_service pub = { .name = "publish", .paths = pub_paths, .handle = handle_stub };
static const struct certa_service special = { .name = "special", .paths = pub_special_paths,
                                              .handle = handle_stub };

static void test_route(void **st)
{
    (void)st;
    const struct certa_service *svcs[] = { &scep, &ocsp, &pub, &special };
    size_t n = 4;
    assert_int_equal(certad_route(svcs, n, "/scep"), 0);
    assert_int_equal(certad_route(svcs, n, "/cgi-bin/pkiclient.exe"), 0);
    /* A prefix without '/' matches exactly, nothing below or beside it. */
    assert_int_equal(certad_route(svcs, n, "/scep/x"), -1);
    assert_int_equal(certad_route(svcs, n, "/scepx"), -1);
    assert_int_equal(certad_route(svcs, n, "/ocsp"), 1);
    assert_int_equal(certad_route(svcs, n, "/ocsp/MEUwQzBBMD8wPTAJBgUrDgMCGgUABBQ"), 1);
    assert_int_equal(certad_route(svcs, n, "/crl/ca.crl"), 2);
    assert_int_equal(certad_route(svcs, n, "/ca/ca.crt"), 2);
    /* The longest prefix wins, whatever the order of the table. */
    assert_int_equal(certad_route(svcs, n, "/crl/special/x.crl"), 3);
    const struct certa_service *rev[] = { &special, &pub };
    assert_int_equal(certad_route(rev, 2, "/crl/special/x.crl"), 0);
    assert_int_equal(certad_route(rev, 2, "/crl/other.crl"), 1);
    assert_int_equal(certad_route(svcs, n, "/"), -1);
    assert_int_equal(certad_route(svcs, n, "/crl"), -1);
    assert_int_equal(certad_route(svcs, 0, "/scep"), -1);
}

static void test_listen(void **st)
{
    (void)st;
    struct certad_config *c = certad_config_new();
    assert_int_equal(certad_config_add_listen(c, "127.0.0.1:8080", 0), 0);
    assert_string_equal(c->listen[0].host, "127.0.0.1");
    assert_string_equal(c->listen[0].port, "8080");
    assert_int_equal(certad_config_add_listen(c, "[::1]:8443", 1), 0);
    assert_string_equal(c->listen[1].host, "::1");
    assert_int_equal(c->listen[1].tls, 1);
    assert_int_equal(certad_config_add_listen(c, ":9000", 0), 0);
    assert_string_equal(c->listen[2].host, "0.0.0.0");
    assert_true(certad_config_add_listen(c, "127.0.0.1", 0) < 0);
    assert_true(certad_config_add_listen(c, "127.0.0.1:0", 0) < 0);
    assert_true(certad_config_add_listen(c, "127.0.0.1:70000", 0) < 0);
    assert_true(certad_config_add_listen(c, "::1:80", 0) < 0);
    assert_true(certad_config_add_listen(c, "[::1]80", 0) < 0);
    assert_true(certad_config_add_listen(c, "127.0.0.1:80x", 0) < 0);
    assert_int_equal(c->n_listen, 3);
    certad_config_free(c);
}

static char *write_conf(const char *dir, const char *text)
{
    char *path = malloc(strlen(dir) + 16);
    sprintf(path, "%s/certad.conf", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_config_file(void **st)
{
    (void)st;
    char *dir = test_tmpdir("certad_conf");
    char *path = write_conf(dir,
        "[server]\n"
        "listen = 127.0.0.1:1111, [::1]:2222\n"
        "listen = 127.0.0.1:3333\n"
        "max_body = 16k\n"
        "header_timeout = 5\n"
        "workers = 3\n"
        "max_connections = 100\n"
        "[ca]\n"
        "dir = ca\n"
        "[services]\n"
        "ocsp = off\n"
        "[scep]\n"
        "approval = manual\n");
    struct certad_config *c = certad_config_new();
    assert_int_equal(certad_config_load(c, path), 0);
    assert_int_equal(certad_config_finish(c), 0);
    assert_int_equal(c->n_listen, 3);
    assert_string_equal(c->listen[1].host, "::1");
    assert_string_equal(c->listen[2].port, "3333");
    assert_int_equal(c->max_body, 16384);
    assert_int_equal(c->header_timeout, 5);
    assert_int_equal(c->workers, 3);
    assert_true(c->max_connections > 0 && c->max_connections <= 100);
    /* Relative paths are relative to the config file. */
    char want[600];
    snprintf(want, sizeof(want), "%s/ca", dir);
    assert_string_equal(c->ca_dir, want);
    assert_int_equal(certad_config_service_on(c, "ocsp"), 0);
    assert_int_equal(certad_config_service_on(c, "scep"), 1);
    assert_string_equal(certad_config_get(c, "scep", "approval"), "manual");
    assert_null(certad_config_get(c, "scep", "nothing"));
    certad_config_free(c);
    free(path);

    /* An unknown [server] key is named, with the line. */
    path = write_conf(dir, "[server]\nlisten = 127.0.0.1:1\nmax_bdy = 5\n");
    c = certad_config_new();
    assert_true(certad_config_load(c, path) < 0);
    assert_non_null(strstr(certa_error_last(), "unknown key 'max_bdy' in [server]"));
    assert_non_null(strstr(certa_error_last(), ":3:"));
    certad_config_free(c);
    free(path);

    static const char *const bad[] = {
        "[server]\nmax_body = 0\n",
        "[server]\nmax_body = lots\n",
        "[server]\nworkers = 100000\n",
        "[server]\nmax_connections = 0\n",
        "[server]\ntls_verify_client = maybe\n",
        "[server]\nlisten = nowhere\n",
        "[services]\nscep = perhaps\n",
        "[ca]\nkey = x\n",
        "stray = 1\n",
        "[server\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        path = write_conf(dir, bad[i]);
        c = certad_config_new();
        assert_true(certad_config_load(c, path) < 0);
        assert_null(strchr(certa_error_last(), '\n'));
        certad_config_free(c);
        free(path);
    }

    /* A TLS listener without its files, or verification without a CA file. */
    path = write_conf(dir, "[server]\ntls_listen = 127.0.0.1:4443\n[ca]\ndir = /x\n");
    c = certad_config_new();
    assert_int_equal(certad_config_load(c, path), 0);
    assert_true(certad_config_finish(c) < 0);
    assert_non_null(strstr(certa_error_last(), "tls_cert"));
    certad_config_free(c);
    free(path);
    c = certad_config_new();
    assert_true(certad_config_finish(c) < 0);       /* no CA directory */
    certad_config_free(c);
    test_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route),
        cmocka_unit_test(test_listen),
        cmocka_unit_test(test_config_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
