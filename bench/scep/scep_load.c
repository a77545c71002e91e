/* Load driver for bench/scep: builds N unique SCEP PKCSReq messages for a
 * server's recipient certificate (from its GetCACert) before the clock
 * starts, then POSTs them from C concurrent clients (one keep-alive libcurl
 * handle each) and counts CertReps with pkiStatus SUCCESS per second.
 * Messages are built with OpenSSL's PKCS#7 directly, as a device would. */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define RESP_MAX (256 * 1024)

struct buf {
    unsigned char *d;
    size_t n;
};

static size_t on_data(char *p, size_t sz, size_t nm, void *arg)
{
    struct buf *b = arg;
    size_t n = sz * nm;
    if (b->n + n > RESP_MAX)
        return 0;
    unsigned char *d = realloc(b->d, b->n + n);
    if (d == NULL)
        return 0;
    memcpy(d + b->n, p, n);
    b->d = d;
    b->n += n;
    return n;
}

static void die(const char *what)
{
    fprintf(stderr, "scep_load: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* The certificate to encrypt for: the one GetCACert returns, or in a
 * CA+RA answer the non-CA certificate with keyEncipherment. */
static X509 *recipient(const char *url)
{
    char full[1024];
    struct buf b = { 0 };
    snprintf(full, sizeof(full), "%s?operation=GetCACert", url);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, full);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(c) != CURLE_OK)
        die("GetCACert failed");
    curl_easy_cleanup(c);
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

/* A CertRep read only as far as its pkiStatus: a SignedData whose
 * certificates stay undecoded (d2i_PKCS7 would decode the CA certificate's
 * key in every reply, a cost of the load generator that shares the machine
 * with the server measured). */
typedef struct {
    ASN1_INTEGER *version;
    STACK_OF(X509_ALGOR) *md_algs;
    PKCS7 *contents;
    STACK_OF(ASN1_TYPE) *certs, *crls;
    STACK_OF(PKCS7_SIGNER_INFO) *signer_info;
} REPLY_SIGNED;

ASN1_SEQUENCE(REPLY_SIGNED) = {
    ASN1_SIMPLE(REPLY_SIGNED, version, ASN1_INTEGER),
    ASN1_SET_OF(REPLY_SIGNED, md_algs, X509_ALGOR),
    ASN1_SIMPLE(REPLY_SIGNED, contents, PKCS7),
    ASN1_IMP_SET_OF_OPT(REPLY_SIGNED, certs, ASN1_ANY, 0),
    ASN1_IMP_SET_OF_OPT(REPLY_SIGNED, crls, ASN1_ANY, 1),
    ASN1_SET_OF(REPLY_SIGNED, signer_info, PKCS7_SIGNER_INFO),
} static_ASN1_SEQUENCE_END(REPLY_SIGNED)

typedef struct {
    ASN1_OBJECT *type;
    REPLY_SIGNED *d;
} REPLY;

ASN1_SEQUENCE(REPLY) = {
    ASN1_SIMPLE(REPLY, type, ASN1_OBJECT),
    ASN1_EXP(REPLY, d, REPLY_SIGNED, 0),
} static_ASN1_SEQUENCE_END(REPLY)

static int status_of(struct run *r, const struct buf *b)
{
    const unsigned char *p = b->d;
    REPLY *rep = (REPLY *)ASN1_item_d2i(NULL, &p, (long)b->n, ASN1_ITEM_rptr(REPLY));
    int st = -1;
    if (rep && OBJ_obj2nid(rep->type) == NID_pkcs7_signed && sk_PKCS7_SIGNER_INFO_num(rep->d->signer_info) == 1) {
        ASN1_TYPE *t = PKCS7_get_signed_attribute(sk_PKCS7_SIGNER_INFO_value(rep->d->signer_info, 0), r->nid_status);
        if (t && t->type == V_ASN1_PRINTABLESTRING)
            st = atoi((const char *)ASN1_STRING_get0_data(t->value.asn1_string));
    }
    ASN1_item_free((ASN1_VALUE *)rep, ASN1_ITEM_rptr(REPLY));
    ERR_clear_error();
    return st;
}

static void *client(void *arg)
{
    struct run *r = arg;
    char full[1024];
    snprintf(full, sizeof(full), "%s?operation=PKIOperation", r->url);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-pki-message");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, full);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    for (int i; (i = atomic_fetch_add(&r->next, 1)) < r->n; ) {
        struct buf b = { 0 };
        long code = 0;
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->msgs[i].d);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)r->msgs[i].n);
        if (curl_easy_perform(c) != CURLE_OK ||
            (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code), code != 200)) {
            atomic_fetch_add(&r->http_err, 1);
        } else {
            int st = status_of(r, &b);
            atomic_fetch_add(st == 0 ? &r->ok : st == 3 ? &r->pending : &r->failed, 1);
        }
        free(b.d);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
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
    curl_global_init(CURL_GLOBAL_DEFAULT);
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
    curl_global_cleanup();
    return ok == n ? 0 : 1;
}
