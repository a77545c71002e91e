/* Load driver for bench/cmp: builds N ir messages first (OpenSSL's CMP
 * client, each with its own transactionID and nonces, implicitConfirm
 * asked for, MAC or signature protection), then POSTs them from T threads
 * over keep-alive connections and reports enrollments per second. Only
 * answers that decode as an ip carrying a certificate count. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <openssl/cmp.h>
#include <openssl/pem.h>

struct msg {
    unsigned char *der;
    int len;
};

static struct msg *msgs;
static int nmsgs, next_msg, ok_count, bad_count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *url;

static OSSL_CMP_MSG *capture(OSSL_CMP_CTX *c, const OSSL_CMP_MSG *req)
{
    struct msg *m = OSSL_CMP_CTX_get_transfer_cb_arg(c);
    m->der = NULL;
    m->len = i2d_OSSL_CMP_MSG(req, &m->der);
    return NULL;
}

static int quiet(const char *f, const char *fi, int l, OSSL_CMP_severity lv, const char *msg)
{
    (void)f, (void)fi, (void)l, (void)lv, (void)msg;
    return 1;
}

static void *load(const char *path)
{
    FILE *f = fopen(path, "r");
    void *p = NULL;
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    if (strstr(path, "key"))
        p = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    else
        p = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (p == NULL) {
        fprintf(stderr, "%s: cannot read\n", path);
        exit(2);
    }
    return p;
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

static void *worker(void *arg)
{
    (void)arg;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/pkixcmp");
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
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, msgs[i].der);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)msgs[i].len);
        long status = 0;
        int good = 0;
        if (curl_easy_perform(c) == CURLE_OK && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
            status == 200) {
            const unsigned char *p = k.p;
            OSSL_CMP_MSG *r = d2i_OSSL_CMP_MSG(NULL, &p, (long)k.n);
            /* ip = 1; a refusal is an ip too, but far shorter than one with a certificate */
            good = r != NULL && OSSL_CMP_MSG_get_bodytype(r) == 1 && k.n > 600;
            OSSL_CMP_MSG_free(r);
        }
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
    const char *ref = NULL, *secret = NULL, *cert = NULL, *key = NULL, *ca = NULL;
    int threads = 32;
    nmsgs = 2000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url")) url = argv[i + 1];
        else if (!strcmp(argv[i], "--ref")) ref = argv[i + 1];
        else if (!strcmp(argv[i], "--secret")) secret = argv[i + 1];
        else if (!strcmp(argv[i], "--cert")) cert = argv[i + 1];
        else if (!strcmp(argv[i], "--key")) key = argv[i + 1];
        else if (!strcmp(argv[i], "--ca")) ca = argv[i + 1];
        else if (!strcmp(argv[i], "--count")) nmsgs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    }
    if (url == NULL || ca == NULL || (ref == NULL && cert == NULL)) {
        fprintf(stderr, "usage: cmp_load --url URL --ca CA.pem (--ref R --secret S | --cert C --key K) "
                        "[--count N] [--threads T]\n");
        return 2;
    }
    X509 *cax = load(ca), *cx = cert ? load(cert) : NULL;
    EVP_PKEY *kx = key ? load(key) : NULL;
    EVP_PKEY *newkey = EVP_EC_gen("P-256");
    X509_NAME *subj = X509_NAME_new();
    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)"bench-device", -1, -1, 0);
    msgs = calloc((size_t)nmsgs, sizeof(*msgs));
    for (int i = 0; i < nmsgs; i++) {
        OSSL_CMP_CTX *c = OSSL_CMP_CTX_new(NULL, NULL);
        OSSL_CMP_CTX_set_log_cb(c, quiet);
        OSSL_CMP_CTX_set1_recipient(c, X509_get_subject_name(cax));
        OSSL_CMP_CTX_set1_subjectName(c, subj);
        EVP_PKEY_up_ref(newkey);
        OSSL_CMP_CTX_set0_newPkey(c, 1, newkey);
        OSSL_CMP_CTX_set_option(c, OSSL_CMP_OPT_IMPLICIT_CONFIRM, 1);
        if (ref != NULL) {
            OSSL_CMP_CTX_set1_referenceValue(c, (const unsigned char *)ref, strlen(ref));
            OSSL_CMP_CTX_set1_secretValue(c, (const unsigned char *)secret, (int)strlen(secret));
        } else {
            OSSL_CMP_CTX_set1_cert(c, cx);
            OSSL_CMP_CTX_set1_pkey(c, kx);
        }
        OSSL_CMP_CTX_set_transfer_cb(c, capture);
        OSSL_CMP_CTX_set_transfer_cb_arg(c, &msgs[i]);
        (void)OSSL_CMP_exec_IR_ses(c);
        OSSL_CMP_CTX_free(c);
        if (msgs[i].len <= 0) {
            fprintf(stderr, "cannot build message %d\n", i);
            return 1;
        }
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
