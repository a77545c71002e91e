/* SCEP side of bench/cmp: builds N PKCSReq pkiMessages first (an RSA-2048
 * device key, as SCEP needs with a self-signed certificate, its CSR with the challenge
 * password enveloped with AES-128-CBC for the CA's SCEP recipient, a fresh
 * transactionID and senderNonce each), then POSTs them from T threads over
 * keep-alive connections to certad's /scep. Counts CertReps with
 * pkiStatus SUCCESS. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

struct msg {
    unsigned char *der;
    int len;
};

static struct msg *msgs;
static int nmsgs, next_msg, ok_count, bad_count, nid_type, nid_status, nid_txid, nid_snonce;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *url;

static int nid(const char *oid, const char *sn)
{
    int n = OBJ_txt2nid(oid);
    return n != NID_undef ? n : OBJ_create(oid, sn, sn);
}

static int add_str(PKCS7_SIGNER_INFO *si, int n, const char *v)
{
    ASN1_STRING *s = ASN1_STRING_type_new(V_ASN1_PRINTABLESTRING);
    ASN1_STRING_set(s, v, (int)strlen(v));
    return PKCS7_add_signed_attribute(si, n, V_ASN1_PRINTABLESTRING, s);
}

static int build(X509 *recipient, X509 *self, EVP_PKEY *key, const unsigned char *csr, int csr_len, struct msg *m)
{
    STACK_OF(X509) *rc = sk_X509_new_null();
    sk_X509_push(rc, recipient);
    BIO *in = BIO_new_mem_buf(csr, csr_len);
    PKCS7 *env = PKCS7_encrypt(rc, in, EVP_aes_128_cbc(), PKCS7_BINARY);
    unsigned char *envder = NULL;
    int envlen = env ? i2d_PKCS7(env, &envder) : -1;
    PKCS7 *p7 = PKCS7_sign(NULL, NULL, NULL, NULL, PKCS7_PARTIAL | PKCS7_BINARY);
    PKCS7_SIGNER_INFO *si = p7 ? PKCS7_sign_add_signer(p7, self, key, EVP_sha256(), PKCS7_NOSMIMECAP) : NULL;
    unsigned char r[16];
    char txid[33];
    RAND_bytes(r, sizeof(r));
    for (int i = 0; i < 16; i++)
        snprintf(txid + 2 * i, 3, "%02x", r[i]);
    RAND_bytes(r, sizeof(r));
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, r, sizeof(r));
    int ok = si != NULL && envlen > 0 && add_str(si, nid_type, "19") && add_str(si, nid_txid, txid) &&
             PKCS7_add_signed_attribute(si, nid_snonce, V_ASN1_OCTET_STRING, os);
    BIO *data = BIO_new_mem_buf(envder, envlen);
    ok = ok && PKCS7_final(p7, data, PKCS7_BINARY) == 1;
    m->der = NULL;
    m->len = ok ? i2d_PKCS7(p7, &m->der) : -1;
    BIO_free(data);
    BIO_free(in);
    OPENSSL_free(envder);
    PKCS7_free(env);
    PKCS7_free(p7);
    sk_X509_free(rc);
    return m->len > 0 ? 0 : -1;
}

struct sink {
    unsigned char *p;
    size_t n;
};

static size_t on_data(char *d, size_t s, size_t n, void *arg)
{
    struct sink *k = arg;
    unsigned char *np = realloc(k->p, k->n + s * n);
    if (np == NULL)
        return 0;
    memcpy(np + k->n, d, s * n);
    k->p = np;
    k->n += s * n;
    return s * n;
}

/* pkiStatus "0" (SUCCESS) in the CertRep's signed attributes. */
static int success(const unsigned char *p, size_t n)
{
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)n);
    int ok = 0;
    if (p7 != NULL && PKCS7_type_is_signed(p7)) {
        STACK_OF(PKCS7_SIGNER_INFO) *sis = PKCS7_get_signer_info(p7);
        ASN1_TYPE *t = sk_PKCS7_SIGNER_INFO_num(sis) > 0
            ? PKCS7_get_signed_attribute(sk_PKCS7_SIGNER_INFO_value(sis, 0), nid_status) : NULL;
        ok = t != NULL && t->type == V_ASN1_PRINTABLESTRING && t->value.printablestring->length == 1 &&
             t->value.printablestring->data[0] == '0';
    }
    PKCS7_free(p7);
    return ok;
}

static void *worker(void *arg)
{
    (void)arg;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-pki-message");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    for (;;) {
        pthread_mutex_lock(&lock);
        int i = next_msg < nmsgs ? next_msg++ : -1;
        pthread_mutex_unlock(&lock);
        if (i < 0)
            break;
        struct sink k = { 0 };
        long status = 0;
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, msgs[i].der);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)msgs[i].len);
        int good = curl_easy_perform(c) == CURLE_OK &&
                   curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200 &&
                   success(k.p, k.n);
        free(k.p);
        pthread_mutex_lock(&lock);
        good ? ok_count++ : bad_count++;
        pthread_mutex_unlock(&lock);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *recipient = NULL, *challenge = NULL;
    int threads = 32;
    nmsgs = 2000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url")) url = argv[i + 1];
        else if (!strcmp(argv[i], "--recipient")) recipient = argv[i + 1];
        else if (!strcmp(argv[i], "--challenge")) challenge = argv[i + 1];
        else if (!strcmp(argv[i], "--count")) nmsgs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    }
    if (url == NULL || recipient == NULL || challenge == NULL) {
        fprintf(stderr, "usage: scep_load --url URL --recipient CERT --challenge PW [--count N] [--threads T]\n");
        return 2;
    }
    nid_type = nid("2.16.840.1.113733.1.9.2", "scepMessageType");
    nid_status = nid("2.16.840.1.113733.1.9.3", "scepPkiStatus");
    nid_snonce = nid("2.16.840.1.113733.1.9.5", "scepSenderNonce");
    nid_txid = nid("2.16.840.1.113733.1.9.7", "scepTransactionID");
    FILE *f = fopen(recipient, "r");
    X509 *rcpt = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (rcpt == NULL) {
        fprintf(stderr, "%s: no certificate\n", recipient);
        return 2;
    }
    EVP_PKEY *key = EVP_RSA_gen(2048); /* SCEP envelopes its answer to the requester: RSA */
    X509_NAME *subj = X509_NAME_new();
    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)"bench-device", -1, -1, 0);
    X509 *self = X509_new();
    X509_set_version(self, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(self), 1);
    X509_set_subject_name(self, subj);
    X509_set_issuer_name(self, subj);
    X509_gmtime_adj(X509_getm_notBefore(self), -60);
    X509_gmtime_adj(X509_getm_notAfter(self), 86400);
    X509_set_pubkey(self, key);
    X509_sign(self, key, EVP_sha256());
    X509_REQ *req = X509_REQ_new();
    X509_REQ_set_subject_name(req, subj);
    X509_REQ_set_pubkey(req, key);
    X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword, MBSTRING_ASC, (const unsigned char *)challenge, -1);
    X509_REQ_sign(req, key, EVP_sha256());
    unsigned char *csr = NULL;
    int csr_len = i2d_X509_REQ(req, &csr);
    msgs = calloc((size_t)nmsgs, sizeof(*msgs));
    for (int i = 0; i < nmsgs; i++)
        if (build(rcpt, self, key, csr, csr_len, &msgs[i]) < 0) {
            fprintf(stderr, "cannot build message %d\n", i);
            return 1;
        }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t *t = calloc((size_t)threads, sizeof(*t));
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("enrollments=%d refused=%d seconds=%.2f per_s=%.1f\n", ok_count, bad_count, s, ok_count / s);
    return bad_count > 0 ? 1 : 0;
}
