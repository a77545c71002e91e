/* The SCEP client against a misbehaving CA: an HTTP server (libevent) in a
 * thread of this test answers GetCACaps, GetCACert and PKIOperation with
 * crafted replies (HTML, nothing, 404, truncated PKCS#7, a look-alike
 * signer, wrong transactionID or recipientNonce, another key's certificate,
 * FAILURE with each failInfo, PENDING for ever) and also honestly, for
 * renewal and --resume. Every refusal must name what happened and leave
 * every file of the state as it was. */
#include "testutil.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <openssl/pem.h>
#include "certa/keystore.h"
#include "certa/trustpoint.h"
#include "scep_test_ca.h"

enum mode { M_GOOD, M_HTML, M_EMPTY, M_404, M_TRUNC, M_BADSIG, M_TXID, M_NONCE, M_OTHERKEY, M_FAILURE, M_PENDING };

static struct server {
    struct event_base *base;
    struct evhttp *http;
    pthread_t thread;
    int port;
    pthread_mutex_t lock;
    enum mode mode;
    int fail_info;
    int renewal_cap;
    int get_only;          /* no POSTPKIOperation in the caps */
    int gets;              /* PKIOperations that came by GET */
    int polls;             /* CertPolls seen */
    int last_type;         /* messageType of the last pkiMessage */
    X509_REQ *csr;         /* from the last PKCSReq/RenewalReq */
    X509 *last_signer;
    EVP_PKEY *ca_key, *other_key;
    X509 *ca, *other_ca;
} srv;

static void reply(struct evhttp_request *req, int code, const char *ctype, const void *data, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, data, len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", b);
    evbuffer_free(b);
}

/* Reads the client's pkiMessage as a CA would, then answers per srv.mode. */
static void pki_operation(struct evhttp_request *req, const char *message)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    unsigned char *body = evbuffer_pullup(in, -1);
    certa_buf got = { 0 };
    if (message != NULL) {
        /* GET: the query's message is the base64 pkiMessage. */
        size_t n = strlen(message);
        assert_int_equal(certa_buf_reserve(&got, n), 0);
        int dn = EVP_DecodeBlock(got.data, (const unsigned char *)message, (int)n);
        assert_true(dn > 0);
        while (n > 0 && message[n - 1] == '=') {
            n--;
            dn--;
        }
        body = got.data;
        len = (size_t)dn;
        srv.gets++;
    }
    struct scep_nids nids;
    certa_buf env = { 0 }, inner = { 0 }, out = { 0 };
    assert_int_equal(certa_scep_nids(&nids), 0);
    if (srv.mode == M_HTML) {
        certa_buf_free(&got);
        const char html[] = "<html><body><h1>Welcome to nginx!</h1></body></html>";
        reply(req, 200, "text/html", html, sizeof(html) - 1);
        return;
    }
    if (srv.mode == M_EMPTY) {
        certa_buf_free(&got);
        reply(req, 200, "application/x-pki-message", "", 0);
        return;
    }
    const unsigned char *p = body;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
    assert_non_null(p7);
    X509 *signer = sk_X509_value(p7->d.sign->cert, 0);
    BIO *content = BIO_new(BIO_s_mem());
    X509_STORE *st = X509_STORE_new();
    assert_int_equal(PKCS7_verify(p7, NULL, st, NULL, content, PKCS7_NOVERIFY | PKCS7_BINARY), 1);
    char *cdata = NULL;
    long clen = BIO_get_mem_data(content, &cdata);
    assert_int_equal(certa_scep_envelope_open((unsigned char *)cdata, (size_t)clen, srv.ca_key, srv.ca, 0, &inner), 0);
    PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7), 0);
    ASN1_TYPE *t = PKCS7_get_signed_attribute(si, nids.message_type);
    int type = atoi((const char *)ASN1_STRING_get0_data(t->value.printablestring));
    ASN1_TYPE *tx = PKCS7_get_signed_attribute(si, nids.transaction_id);
    ASN1_TYPE *sn = PKCS7_get_signed_attribute(si, nids.sender_nonce);
    char txid[SCEP_TXID_MAX] = "";
    snprintf(txid, sizeof(txid), "%.*s", ASN1_STRING_length(tx->value.printablestring),
             (const char *)ASN1_STRING_get0_data(tx->value.printablestring));
    unsigned char nonce[SCEP_NONCE_LEN];
    memcpy(nonce, ASN1_STRING_get0_data(sn->value.octet_string), SCEP_NONCE_LEN);

    pthread_mutex_lock(&srv.lock);
    srv.last_type = type;
    X509_free(srv.last_signer);
    X509_up_ref(signer);
    srv.last_signer = signer;
    if (type == SCEP_CERTPOLL) {
        srv.polls++;
    } else {
        const unsigned char *q = inner.data;
        X509_REQ_free(srv.csr);
        srv.csr = d2i_X509_REQ(NULL, &q, (long)inner.len);
        assert_non_null(srv.csr);
    }
    struct test_certrep a = { .status = SCEP_PENDING, .fail_info = -1, .txid = txid, .recipient_nonce = nonce,
                              .sign_key = srv.ca_key, .sign_cert = srv.ca, .encrypt_to = signer };
    X509 *issued = NULL;
    switch (srv.mode) {
    case M_GOOD:
    case M_TRUNC:
        issued = test_issue(X509_REQ_get0_pubkey(srv.csr), "dev.example.com", srv.ca, srv.ca_key, 30);
        a.status = SCEP_SUCCESS;
        a.issued = issued;
        break;
    case M_OTHERKEY:
        issued = test_issue(srv.other_key, "dev.example.com", srv.ca, srv.ca_key, 30);
        a.status = SCEP_SUCCESS;
        a.issued = issued;
        break;
    case M_BADSIG:
        a.sign_key = srv.other_key;
        a.sign_cert = srv.other_ca;
        break;
    case M_TXID:
        a.txid = "0123456789abcdef";
        break;
    case M_NONCE:
        nonce[0] ^= 0x80;
        break;
    case M_FAILURE:
        a.status = SCEP_FAILURE;
        a.fail_info = srv.fail_info;
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&srv.lock);
    test_certrep_build(&a, &out);
    size_t n = srv.mode == M_TRUNC ? out.len / 2 : out.len;
    reply(req, 200, "application/x-pki-message", out.data, n);
    X509_free(issued);
    certa_buf_free(&got);
    certa_buf_free(&out);
    certa_buf_free(&env);
    certa_buf_free(&inner);
    X509_STORE_free(st);
    BIO_free(content);
    PKCS7_free(p7);
}

static void handle(struct evhttp_request *req, void *arg)
{
    (void)arg;
    struct evkeyvalq q;
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    memset(&q, 0, sizeof(q));
    evhttp_parse_query_str(query ? query : "", &q);
    const char *op = evhttp_find_header(&q, "operation");
    if (srv.mode == M_404 || op == NULL) {
        evhttp_send_error(req, 404, "Not Found");
    } else if (strcmp(op, "GetCACaps") == 0) {
        const char *caps = srv.get_only ? "AES\nSHA-256\n"
                           : srv.renewal_cap ? "AES\nSHA-256\nPOSTPKIOperation\nRenewal\n"
                                             : "AES\nSHA-256\nPOSTPKIOperation\n";
        reply(req, 200, "text/plain", caps, strlen(caps));
    } else if (strcmp(op, "GetCACert") == 0) {
        unsigned char *der = NULL;
        int n = i2d_X509(srv.ca, &der);
        reply(req, 200, "application/x-x509-ca-cert", der, (size_t)n);
        OPENSSL_free(der);
    } else if (strcmp(op, "PKIOperation") == 0) {
        pki_operation(req, evhttp_request_get_command(req) == EVHTTP_REQ_GET ? evhttp_find_header(&q, "message")
                                                                              : NULL);
    } else {
        evhttp_send_error(req, 400, "Bad Request");
    }
    evhttp_clear_headers(&q);
}

static void *serve(void *arg)
{
    (void)arg;
    event_base_dispatch(srv.base);
    return NULL;
}

static int group_setup(void **state)
{
    (void)state;
    setenv("CERTA_SCEP_POLL_SECONDS", "0", 1);
    evthread_use_pthreads();
    pthread_mutex_init(&srv.lock, NULL);
    assert_int_equal(certa_key_generate("rsa:2048", &srv.ca_key), 0);
    assert_int_equal(certa_key_generate("rsa:2048", &srv.other_key), 0);
    srv.ca = test_self_signed(srv.ca_key, "Test SCEP CA", 1);
    srv.other_ca = test_self_signed(srv.other_key, "Test SCEP CA", 1);
    srv.base = event_base_new();
    srv.http = evhttp_new(srv.base);
    evhttp_set_gencb(srv.http, handle, NULL);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(srv.http, "127.0.0.1", 0);
    assert_non_null(bs);
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl);
    srv.port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&srv.thread, NULL, serve, NULL), 0);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    event_base_loopbreak(srv.base);
    pthread_join(srv.thread, NULL);
    evhttp_free(srv.http);
    event_base_free(srv.base);
    X509_REQ_free(srv.csr);
    X509_free(srv.last_signer);
    X509_free(srv.ca);
    X509_free(srv.other_ca);
    EVP_PKEY_free(srv.ca_key);
    EVP_PKEY_free(srv.other_key);
    return 0;
}

/* A device with key, CA and a current certificate from that CA. */
static int setup(void **state)
{
    char *dir = test_tmpdir("scepsrv");
    char url[64];
    struct certa_trustpoint tp;
    certa_trustpoint_init(&tp, "t");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/scep", srv.port);
    assert_int_equal(certa_trustpoint_set(&tp, "protocol", "scep"), 0);
    assert_int_equal(certa_trustpoint_set(&tp, "url", url), 0);
    assert_int_equal(certa_trustpoint_set(&tp, "subject", "CN=dev.example.com"), 0);
    assert_int_equal(certa_trustpoint_set(&tp, "retry-count", "2"), 0);
    assert_int_equal(certa_trustpoint_save(dir, &tp), 0);
    assert_int_equal(certa_trustpoint_secret_set(dir, "t", "challenge", "pw"), 0);
    assert_int_equal(certa_keystore_generate(dir, "t", "rsa:2048", 0, 0), 0);
    BIO *mem = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(mem, srv.ca);
    char *pem = NULL;
    long n = BIO_get_mem_data(mem, &pem);
    assert_int_equal(certa_trustpoint_import(dir, "t", (unsigned char *)pem, (size_t)n, 1), 0);
    BIO_free(mem);
    EVP_PKEY *key = NULL;
    assert_int_equal(certa_keystore_load(dir, "t", CERTA_KEYROLE_ANY, &key), 0);
    X509 *cur = test_issue(key, "dev.example.com", srv.ca, srv.ca_key, 30);
    mem = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(mem, cur);
    n = BIO_get_mem_data(mem, &pem);
    assert_int_equal(certa_trustpoint_import(dir, "t", (unsigned char *)pem, (size_t)n, 0), 0);
    BIO_free(mem);
    X509_free(cur);
    EVP_PKEY_free(key);
    pthread_mutex_lock(&srv.lock);
    srv.mode = M_GOOD;
    srv.renewal_cap = 0;
    srv.get_only = 0;
    srv.gets = 0;
    srv.polls = 0;
    srv.last_type = 0;
    pthread_mutex_unlock(&srv.lock);
    *state = dir;
    return 0;
}

static int teardown(void **state)
{
    test_tmpdir_remove(*state);
    return 0;
}

static void set_mode(enum mode m, int fail_info)
{
    pthread_mutex_lock(&srv.lock);
    srv.mode = m;
    srv.fail_info = fail_info;
    pthread_mutex_unlock(&srv.lock);
}

static void snapshot(const char *dir, const char *name)
{
    assert_int_equal(test_sh("cd '%s' && find . -type f ! -name '*.sum' -exec sha256sum {} + | sort > '%s.sum'", dir,
                             name), 0);
}

/* enroll must fail with code, naming want, and change no file. */
static void refused(const char *dir, int code, const char *want)
{
    snapshot(dir, "before");
    int rc = certa_enroll_online(dir, "t");
    const char *msg = certa_error_last();
    if (rc != code || strstr(msg, want) == NULL)
        fail_msg("rc %d (want %d), message '%s' (want '%s')", rc, code, msg, want);
    snapshot(dir, "after");
    assert_int_equal(test_sh("cd '%s' && cmp -s before.sum after.sum", dir), 0);
}

static int accept_offer(const struct certa_ca_offer *offer, void *arg)
{
    (void)offer, (void)arg;
    return 1;
}

/* ca authenticate installs the CA the server sends, as PEM. (Its PEM was
 * once read through a pointer taken before the BIO filled it: compilers
 * that evaluate arguments left to right copied from NULL.) */
static void test_authenticate(void **state)
{
    const char *dir = *state;
    char path[512];
    STACK_OF(X509) *got = NULL;
    assert_int_equal(certa_trustpoint_path(dir, "t", "ca.pem", path, sizeof(path)), 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(certa_ca_authenticate(dir, "t", accept_offer, NULL), 0);
    assert_int_equal(certa_trustpoint_read_certs(dir, "t", "ca.pem", &got), 0);
    assert_int_equal(sk_X509_num(got), 1);
    assert_int_equal(X509_cmp(sk_X509_value(got, 0), srv.ca), 0);
    sk_X509_pop_free(got, X509_free);
}

static void test_http_level(void **state)
{
    const char *dir = *state;
    set_mode(M_HTML, 0);
    refused(dir, CERTA_EPROTO, "with an HTML page, not SCEP");
    set_mode(M_EMPTY, 0);
    refused(dir, CERTA_EPROTO, "sent an empty answer to PKIOperation");
    set_mode(M_404, 0);
    refused(dir, CERTA_ENOTFOUND, "no SCEP service at http://127.0.0.1");
    /* A port nobody listens on. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    bind(s, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(s, (struct sockaddr *)&sa, &sl);
    close(s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/scep", ntohs(sa.sin_port));
    struct certa_trustpoint tp;
    assert_int_equal(certa_trustpoint_load(dir, "t", &tp), 0);
    assert_int_equal(certa_trustpoint_set(&tp, "url", url), 0);
    assert_int_equal(certa_trustpoint_save(dir, &tp), 0);
    refused(dir, CERTA_ENET, "unreachable");
}

static void test_bad_certrep(void **state)
{
    const char *dir = *state;
    set_mode(M_TRUNC, 0);
    refused(dir, CERTA_EPROTO, "malformed or truncated");
    set_mode(M_BADSIG, 0);
    refused(dir, CERTA_ECRYPTO, "signature does not verify against the trustpoint's CA/RA certificate");
    set_mode(M_TXID, 0);
    refused(dir, CERTA_EPROTO, "wrong transactionID");
    set_mode(M_NONCE, 0);
    refused(dir, CERTA_EPROTO, "recipientNonce is not the senderNonce we sent");
    set_mode(M_OTHERKEY, 0);
    refused(dir, CERTA_EPOLICY, "the CA returned a certificate for another key");
}

static void test_failinfo(void **state)
{
    const char *dir = *state;
    static const char *const names[] = { "failInfo badAlg", "failInfo badMessageCheck", "failInfo badRequest",
                                         "failInfo badTime", "failInfo badCertId" };
    for (int i = 0; i < 5; i++) {
        set_mode(M_FAILURE, i);
        refused(dir, CERTA_EPOLICY, names[i]);
    }
}

/* PENDING for ever: ends after the retry count saying --resume continues;
 * the key and certificate stay; --resume then picks the transaction up. */
static void test_pending_resume(void **state)
{
    const char *dir = *state;
    set_mode(M_PENDING, 0);
    assert_int_equal(test_sh("cd '%s' && sha256sum keys/t.pem trustpoints/t/cert.pem > keep.sum", dir), 0);
    assert_int_equal(certa_enroll_online(dir, "t"), CERTA_EPENDING);
    assert_non_null(strstr(certa_error_last(), "still answers PENDING after 2 polls"));
    assert_non_null(strstr(certa_error_last(), "`certa enroll t --resume` continues"));
    assert_int_equal(srv.polls, 2);
    assert_int_equal(srv.last_type, SCEP_CERTPOLL);
    assert_int_equal(test_sh("cd '%s' && sha256sum -c --quiet keep.sum", dir), 0);
    assert_int_equal(test_sh("test -s '%s/trustpoints/t/scep-pending' && test -s '%s/trustpoints/t/request.pem'", dir,
                             dir), 0);
    assert_int_equal(test_sh("test \"$(stat -c %%a '%s/trustpoints/t/scep-pending')\" = 600", dir), 0);
    /* A new enroll does not send a second request behind the CA's back. */
    assert_int_equal(certa_enroll_online(dir, "t"), CERTA_ESTATE);
    assert_non_null(strstr(certa_error_last(), "already pending"));
    /* The CA decides: --resume polls and installs. */
    set_mode(M_GOOD, 0);
    assert_int_equal(certa_enroll_resume(dir, "t"), 0);
    assert_int_equal(srv.last_type, SCEP_CERTPOLL);
    assert_int_equal(srv.polls, 3);
    assert_int_not_equal(test_sh("cd '%s' && sha256sum -c --quiet keep.sum >/dev/null 2>&1", dir), 0);
    assert_int_equal(test_sh("test ! -e '%s/trustpoints/t/scep-pending' && test ! -e '%s/trustpoints/t/request.pem'",
                             dir, dir), 0);
    STACK_OF(X509) *now = NULL;
    EVP_PKEY *key = NULL;
    assert_int_equal(certa_trustpoint_read_certs(dir, "t", "cert.pem", &now), 0);
    assert_int_equal(certa_keystore_load(dir, "t", CERTA_KEYROLE_ANY, &key), 0);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(now, 0)), key), 1);
    sk_X509_pop_free(now, X509_free);
    EVP_PKEY_free(key);
    assert_int_equal(certa_enroll_resume(dir, "t"), CERTA_ENOTFOUND);
    assert_non_null(strstr(certa_error_last(), "no pending SCEP enrollment"));
}

/* With Renewal in the caps, the valid current certificate signs a
 * RenewalReq; without, a transient self-signed one signs a PKCSReq. */
static void test_renewal(void **state)
{
    const char *dir = *state;
    STACK_OF(X509) *cur = NULL;
    assert_int_equal(certa_trustpoint_read_certs(dir, "t", "cert.pem", &cur), 0);
    assert_int_equal(certa_enroll_online(dir, "t"), 0);
    assert_int_equal(srv.last_type, SCEP_PKCSREQ);
    assert_int_equal(X509_check_issued(srv.last_signer, srv.last_signer), X509_V_OK);
    sk_X509_pop_free(cur, X509_free);
    assert_int_equal(certa_trustpoint_read_certs(dir, "t", "cert.pem", &cur), 0);
    pthread_mutex_lock(&srv.lock);
    srv.renewal_cap = 1;
    pthread_mutex_unlock(&srv.lock);
    assert_int_equal(certa_enroll_online(dir, "t"), 0);
    assert_int_equal(srv.last_type, SCEP_RENEWALREQ);
    assert_int_equal(X509_cmp(srv.last_signer, sk_X509_value(cur, 0)), 0);
    sk_X509_pop_free(cur, X509_free);
}

/* Without POSTPKIOperation the pkiMessage travels base64 in the query. */
static void test_get(void **state)
{
    const char *dir = *state;
    pthread_mutex_lock(&srv.lock);
    srv.get_only = 1;
    pthread_mutex_unlock(&srv.lock);
    assert_int_equal(certa_enroll_online(dir, "t"), 0);
    assert_int_equal(srv.gets, 1);
    assert_int_equal(srv.last_type, SCEP_PKCSREQ);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_authenticate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_certrep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failinfo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renewal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
