/* Load driver for bench/scep: builds N unique SCEP PKCSReq messages for a
 * server's recipient certificate (from its GetCACert) before the clock
 * starts, then POSTs them from C concurrent clients (one keep-alive HTTP/1.1
 * connection each) and counts CertReps with pkiStatus SUCCESS per second.
 * Messages are built with OpenSSL's PKCS#7 directly, as a device would.
 * The HTTP client is a minimal one of its own (Content-Length and chunked
 * answers, reconnecting when the server closes): the driver shares the
 * machine with the server it measures, and libcurl's per-request work was
 * a tenth of a CPU at 800 requests/s. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include "proto/scep_internal.h"

#define RESP_MAX (256 * 1024)

struct buf {
    unsigned char *d;
    size_t n;
};

static void die(const char *what)
{
    fprintf(stderr, "scep_load: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* One keep-alive connection to the server of an http:// URL. */
struct conn {
    char host[256], port[8], path[512];
    int fd;                     /* -1: not connected */
    unsigned char in[64 * 1024];/* read ahead */
    size_t in_len, in_off;
};

static int conn_init(struct conn *c, const char *url)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    const char *h = strncmp(url, "http://", 7) == 0 ? url + 7 : NULL;
    const char *slash = h ? strchr(h, '/') : NULL;
    const char *colon = h ? memchr(h, ':', (size_t)((slash ? slash : h + strlen(h)) - h)) : NULL;
    if (h == NULL || colon == NULL || (size_t)(colon - h) >= sizeof(c->host))
        return -1;
    memcpy(c->host, h, (size_t)(colon - h));
    size_t plen = (size_t)((slash ? slash : colon + strlen(colon)) - colon - 1);
    if (plen == 0 || plen >= sizeof(c->port))
        return -1;
    memcpy(c->port, colon + 1, plen);
    snprintf(c->path, sizeof(c->path), "%s", slash ? slash : "/");
    return 0;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in_len = c->in_off = 0;
}

static int conn_connect(struct conn *c)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai = NULL;
    if (getaddrinfo(c->host, c->port, &hints, &ai) != 0)
        return -1;
    for (struct addrinfo *a = ai; a != NULL && c->fd < 0; a = a->ai_next) {
        c->fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (c->fd >= 0 && connect(c->fd, a->ai_addr, a->ai_addrlen) != 0)
            conn_close(c);
    }
    freeaddrinfo(ai);
    int one = 1;
    if (c->fd >= 0)
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return c->fd >= 0 ? 0 : -1;
}

/* Reads more of the answer; -1 when the connection ends. */
static int conn_fill(struct conn *c)
{
    ssize_t n;
    do
        n = read(c->fd, c->in, sizeof(c->in));
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;
    c->in_len = (size_t)n;
    c->in_off = 0;
    return 0;
}

static int conn_byte(struct conn *c)
{
    if (c->in_off == c->in_len && conn_fill(c) < 0)
        return -1;
    return c->in[c->in_off++];
}

static int conn_read(struct conn *c, unsigned char *out, size_t n)
{
    for (size_t got = 0; got < n;) {
        if (c->in_off == c->in_len && conn_fill(c) < 0)
            return -1;
        size_t take = c->in_len - c->in_off < n - got ? c->in_len - c->in_off : n - got;
        memcpy(out + got, c->in + c->in_off, take);
        c->in_off += take;
        got += take;
    }
    return 0;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One CRLF-terminated line (without it) into line; -1 when too long or cut. */
static int conn_line(struct conn *c, char *line, size_t max)
{
    size_t n = 0;
    for (int ch; (ch = conn_byte(c)) >= 0;) {
        if (ch == '\n') {
            if (n > 0 && line[n - 1] == '\r')
                n--;
            line[n] = '\0';
            return 0;
        }
        if (n + 1 >= max)
            return -1;
        line[n++] = (char)ch;
    }
    return -1;
}

/* Appends n body bytes to b. */
static int body_append(struct conn *c, struct buf *b, size_t n)
{
    if (b->n + n > RESP_MAX)
        return -1;
    unsigned char *d = realloc(b->d, b->n + n + 1);
    if (d == NULL)
        return -1;
    b->d = d;
    if (conn_read(c, b->d + b->n, n) < 0)
        return -1;
    b->n += n;
    return 0;
}

/* The answer after its status line: headers, then a Content-Length or
 * chunked body into out. -1 when it cannot be read (connection closed). */
static int read_answer(struct conn *c, char *line, long *code, struct buf *out)
{
    *code = strncmp(line, "HTTP/1.", 7) == 0 && strlen(line) > 9 ? strtol(line + 9, NULL, 10) : 0;
    long length = -1;
    int chunked = 0, close_after = 0, bad = 0;
    while (!(bad = conn_line(c, line, 1024) < 0) && line[0] != '\0') {
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            length = strtol(line + 15, NULL, 10);
        else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 && strcasestr(line + 18, "chunked"))
            chunked = 1;
        else if (strncasecmp(line, "Connection:", 11) == 0 && strcasestr(line + 11, "close"))
            close_after = 1;
    }
    if (!bad && chunked) {
        for (long n = 1; !bad && n > 0;) {
            bad = conn_line(c, line, 1024) < 0 || (n = strtol(line, NULL, 16)) < 0 ||
                  (n > 0 && body_append(c, out, (size_t)n) < 0) || conn_line(c, line, 1024) < 0;
        }
    } else if (!bad) {
        /* Read-to-close answers do not come from these servers. */
        bad = length < 0 || body_append(c, out, (size_t)length) < 0;
    }
    if (bad || close_after)
        conn_close(c);
    return bad ? -1 : 0;
}

/* One request (GET when body is NULL) and its answer's status and body.
 * -1 when the exchange failed; the connection is then closed, and the
 * next request connects again. */
static int http_request(struct conn *c, const char *query, const struct buf *body, long *code, struct buf *out)
{
    char line[1024];
    /* Head and body in one write: one segment out where the size allows. */
    size_t cap = 1024 + (body ? body->n : 0);
    unsigned char *req = malloc(cap);
    if (req == NULL)
        return -1;
    int hl = body ? snprintf((char *)req, 1024,
                             "POST %s?%s HTTP/1.1\r\nHost: %s:%s\r\n"
                             "Content-Type: application/x-pki-message\r\nContent-Length: %zu\r\n\r\n",
                             c->path, query, c->host, c->port, body->n)
                  : snprintf((char *)req, 1024, "GET %s?%s HTTP/1.1\r\nHost: %s:%s\r\n\r\n", c->path, query,
                             c->host, c->port);
    if (hl <= 0 || hl >= 1024) {
        free(req);
        return -1;
    }
    if (body)
        memcpy(req + hl, body->d, body->n);
    size_t total = (size_t)hl + (body ? body->n : 0);
    int rc = -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        int reused = c->fd >= 0;
        if (!reused && conn_connect(c) < 0)
            break;
        if (write_all(c->fd, req, total) < 0 || conn_line(c, line, sizeof(line)) < 0) {
            /* A kept connection the server closed meanwhile: once more. */
            conn_close(c);
            if (reused)
                continue;
            break;
        }
        rc = read_answer(c, line, code, out);
        break;
    }
    free(req);
    return rc;
}

/* The certificate to encrypt for: the one GetCACert returns, or in a
 * CA+RA answer the non-CA certificate with keyEncipherment. */
static X509 *recipient(const char *url)
{
    struct buf b = { 0 };
    struct conn c;
    long code = 0;
    if (conn_init(&c, url) < 0)
        die("only http://HOST:PORT/PATH URLs are supported");
    if (http_request(&c, "operation=GetCACert", NULL, &code, &b) < 0 || code != 200)
        die("GetCACert failed");
    conn_close(&c);
    const unsigned char *p = b.d;
    X509 *x = d2i_X509(NULL, &p, (long)b.n);
    if (x == NULL) {
        p = b.d;
        PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)b.n);
        if (p7 == NULL || !PKCS7_type_is_signed(p7))
            die("GetCACert answer is neither a certificate nor PKCS#7");
        STACK_OF(X509) *certs = p7->d.sign->cert;
        for (int i = 0; i < sk_X509_num(certs) && x == NULL; i++) {
            X509 *c2 = sk_X509_value(certs, i);
            if (!X509_check_ca(c2) && (X509_get_key_usage(c2) & KU_KEY_ENCIPHERMENT))
                x = X509_dup(c2);
        }
        if (x == NULL && sk_X509_num(certs) > 0)
            x = X509_dup(sk_X509_value(certs, 0));
        PKCS7_free(p7);
    }
    free(b.d);
    if (x == NULL)
        die("no recipient certificate");
    return x;
}

static X509 *self_signed(EVP_PKEY *k)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"bench-client", -1, -1, 0);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_set_version(x, 2);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    if (X509_sign(x, k, EVP_sha256()) <= 0)
        die("self-signing");
    X509_NAME_free(n);
    return x;
}

static int nid(const char *oid, const char *sn)
{
    int n = OBJ_txt2nid(oid);
    return n != NID_undef ? n : OBJ_create(oid, sn, sn);
}

struct job {
    X509 *rcpt;
    EVP_PKEY **keys;
    X509 **selfs;
    int nkeys;
    const char *challenge;
    const EVP_CIPHER *cipher;
    struct buf *msgs;
    int from, to;
    int nid_type, nid_txid, nid_nonce;
};

static void add_str(PKCS7_SIGNER_INFO *si, int n, const char *v)
{
    ASN1_STRING *s = ASN1_STRING_type_new(V_ASN1_PRINTABLESTRING);
    ASN1_STRING_set(s, v, (int)strlen(v));
    if (!PKCS7_add_signed_attribute(si, n, V_ASN1_PRINTABLESTRING, s))
        die("attribute");
}

static void *build(void *arg)
{
    struct job *j = arg;
    for (int i = j->from; i < j->to; i++) {
        EVP_PKEY *k = j->keys[i % j->nkeys];
        X509 *self = j->selfs[i % j->nkeys];
        char cn[64], txid[40];
        unsigned char rnd[16];
        RAND_bytes(rnd, sizeof(rnd));
        for (int b = 0; b < 16; b++)
            sprintf(txid + 2 * b, "%02X", rnd[b]);
        snprintf(cn, sizeof(cn), "bench-%d-%.8s", i, txid);
        X509_REQ *req = X509_REQ_new();
        X509_NAME *n = X509_NAME_new();
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (unsigned char *)cn, -1, -1, 0);
        X509_REQ_set_version(req, 0);
        X509_REQ_set_subject_name(req, n);
        X509_REQ_set_pubkey(req, k);
        X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword, MBSTRING_ASC,
                                  (const unsigned char *)j->challenge, -1);
        if (X509_REQ_sign(req, k, EVP_sha256()) <= 0)
            die("signing the CSR");
        unsigned char *csr = NULL;
        int clen = i2d_X509_REQ(req, &csr);
        STACK_OF(X509) *rc = sk_X509_new_null();
        sk_X509_push(rc, j->rcpt);
        BIO *in = BIO_new_mem_buf(csr, clen);
        PKCS7 *env = PKCS7_encrypt(rc, in, j->cipher, PKCS7_BINARY);
        if (env == NULL)
            die("enveloping");
        unsigned char *envder = NULL;
        int elen = i2d_PKCS7(env, &envder);
        PKCS7 *p7 = PKCS7_sign(NULL, NULL, NULL, NULL, PKCS7_PARTIAL | PKCS7_BINARY);
        PKCS7_SIGNER_INFO *si = PKCS7_sign_add_signer(p7, self, k, EVP_sha256(), PKCS7_NOSMIMECAP);
        if (si == NULL)
            die("signer");
        add_str(si, j->nid_type, "19");
        add_str(si, j->nid_txid, txid);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        RAND_bytes(rnd, sizeof(rnd));
        ASN1_OCTET_STRING_set(os, rnd, sizeof(rnd));
        PKCS7_add_signed_attribute(si, j->nid_nonce, V_ASN1_OCTET_STRING, os);
        BIO *data = BIO_new_mem_buf(envder, elen);
        if (PKCS7_final(p7, data, PKCS7_BINARY) != 1)
            die("signing the message");
        j->msgs[i].d = NULL;
        int n2 = i2d_PKCS7(p7, &j->msgs[i].d);
        j->msgs[i].n = (size_t)n2;
        BIO_free(data);
        BIO_free(in);
        OPENSSL_free(envder);
        OPENSSL_free(csr);
        PKCS7_free(env);
        PKCS7_free(p7);
        sk_X509_free(rc);
        X509_NAME_free(n);
        X509_REQ_free(req);
    }
    return NULL;
}

struct run {
    const char *url;
    struct buf *msgs;
    int n;
    atomic_int next, ok, failed, pending, http_err;
    int nid_status;
};

/* A CertRep read only as far as its pkiStatus, with certad's own SignedData
 * templates (lib/proto/scep_asn1.c), which leave certificates undecoded:
 * d2i_PKCS7 would decode the CA certificate's key in every reply, a cost of
 * the load generator that shares the machine with the server measured. */
static int status_of(struct run *r, const struct buf *b)
{
    const unsigned char *p = b->d;
    SCEP_CONTENT_INFO *rep =
        (SCEP_CONTENT_INFO *)ASN1_item_d2i(NULL, &p, (long)b->n, ASN1_ITEM_rptr(SCEP_CONTENT_INFO));
    int st = -1;
    if (rep && OBJ_obj2nid(rep->type) == NID_pkcs7_signed && sk_PKCS7_SIGNER_INFO_num(rep->d->signer_info) == 1) {
        ASN1_TYPE *t = PKCS7_get_signed_attribute(sk_PKCS7_SIGNER_INFO_value(rep->d->signer_info, 0), r->nid_status);
        if (t && t->type == V_ASN1_PRINTABLESTRING)
            st = atoi((const char *)ASN1_STRING_get0_data(t->value.asn1_string));
    }
    ASN1_item_free((ASN1_VALUE *)rep, ASN1_ITEM_rptr(SCEP_CONTENT_INFO));
    ERR_clear_error();
    return st;
}

static void *client(void *arg)
{
    struct run *r = arg;
    struct conn *c = malloc(sizeof(*c));
    if (c == NULL || conn_init(c, r->url) < 0)
        die("only http://HOST:PORT/PATH URLs are supported");
    for (int i; (i = atomic_fetch_add(&r->next, 1)) < r->n; ) {
        struct buf b = { 0 };
        long code = 0;
        if (http_request(c, "operation=PKIOperation", &r->msgs[i], &code, &b) < 0 || code != 200) {
            atomic_fetch_add(&r->http_err, 1);
        } else {
            int st = status_of(r, &b);
            atomic_fetch_add(st == 0 ? &r->ok : st == 3 ? &r->pending : &r->failed, 1);
        }
        free(b.d);
    }
    conn_close(c);
    free(c);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "url", required_argument, NULL, 'u' }, { "n", required_argument, NULL, 'n' },
        { "clients", required_argument, NULL, 'c' }, { "challenge", required_argument, NULL, 'p' },
        { "keys", required_argument, NULL, 'k' }, { "cipher", required_argument, NULL, 'e' },
        { NULL, 0, NULL, 0 },
    };
    const char *url = NULL, *challenge = "", *cipher = "aes-128-cbc";
    int n = 1000, clients = 32, nkeys = 32, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'u': url = optarg; break;
        case 'n': n = atoi(optarg); break;
        case 'c': clients = atoi(optarg); break;
        case 'p': challenge = optarg; break;
        case 'k': nkeys = atoi(optarg); break;
        case 'e': cipher = optarg; break;
        default: return 2;
        }
    }
    if (url == NULL || n <= 0 || clients <= 0 || clients > 256 || nkeys <= 0 || nkeys > 1024) {
        fprintf(stderr, "usage: scep_load --url URL [--n N] [--clients C] [--challenge PW] [--keys K] [--cipher NAME]\n");
        return 2;
    }
    struct job j = {
        .rcpt = recipient(url), .nkeys = nkeys, .challenge = challenge,
        .cipher = EVP_get_cipherbyname(cipher),
        .nid_type = nid("2.16.840.1.113733.1.9.2", "scepMessageType"),
        .nid_txid = nid("2.16.840.1.113733.1.9.7", "scepTransactionID"),
        .nid_nonce = nid("2.16.840.1.113733.1.9.5", "scepSenderNonce"),
    };
    int nid_status = nid("2.16.840.1.113733.1.9.3", "scepPkiStatus");
    if (j.cipher == NULL)
        die("unknown cipher");
    j.keys = calloc((size_t)nkeys, sizeof(*j.keys));
    j.selfs = calloc((size_t)nkeys, sizeof(*j.selfs));
    j.msgs = calloc((size_t)n, sizeof(*j.msgs));
    double t0 = now_s();
    for (int i = 0; i < nkeys; i++) {
        EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        if (kc == NULL || EVP_PKEY_keygen_init(kc) <= 0 || EVP_PKEY_CTX_set_rsa_keygen_bits(kc, 2048) <= 0 ||
            EVP_PKEY_keygen(kc, &j.keys[i]) <= 0)
            die("generating a client key");
        EVP_PKEY_CTX_free(kc);
        j.selfs[i] = self_signed(j.keys[i]);
    }
    /* Build in two threads (the machine's cores), before the clock starts. */
    pthread_t bt[2];
    struct job jj[2] = { j, j };
    jj[0].from = 0;
    jj[0].to = n / 2;
    jj[1].from = n / 2;
    jj[1].to = n;
    for (int i = 0; i < 2; i++)
        pthread_create(&bt[i], NULL, build, &jj[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(bt[i], NULL);
    fprintf(stderr, "scep_load: built %d messages in %.1f s\n", n, now_s() - t0);

    struct run r = { .url = url, .msgs = j.msgs, .n = n, .nid_status = nid_status };
    pthread_t *th = calloc((size_t)clients, sizeof(*th));
    double start = now_s();
    for (int i = 0; i < clients; i++)
        pthread_create(&th[i], NULL, client, &r);
    for (int i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    double secs = now_s() - start;
    int ok = atomic_load(&r.ok);
    printf("scep_load url=%s n=%d clients=%d ok=%d pending=%d failed=%d http_errors=%d seconds=%.3f per_s=%.1f\n",
           url, n, clients, ok, atomic_load(&r.pending), atomic_load(&r.failed), atomic_load(&r.http_err),
           secs, ok / secs);
    for (int i = 0; i < n; i++)
        OPENSSL_free(j.msgs[i].d);
    for (int i = 0; i < nkeys; i++) {
        EVP_PKEY_free(j.keys[i]);
        X509_free(j.selfs[i]);
    }
    X509_free(j.rcpt);
    free(j.msgs);
    free(j.keys);
    free(j.selfs);
    free(th);
    return ok == n ? 0 : 1;
}
