/* bench/issue tool: certificates issued per second through the pipeline
 * (certa_ca_submit_batch, one durable group commit per batch) by one thread,
 * for the CA in --dir. Request keys are made up front: only issuance is timed.
 * Prints "certs=N seconds=S cpu_seconds=C certs_per_s=R certs_per_cpu_s=R". */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "certa/ca.h"
#include "certa/csr.h"
#include "certa/key.h"

#define NKEYS 64

/* User + system CPU seconds of this process: comparable with openssl
 * speed's default (user time) figure on a busy machine. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "seconds", required_argument, NULL, 's' },
        { "batch", required_argument, NULL, 'b' },
        { "key", required_argument, NULL, 'k' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL, *keyspec = "ec:p256";
    double seconds = 3;
    int batch = 256, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 's': seconds = atof(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 'k': keyspec = optarg; break;
        default: return 2;
        }
    }
    if (dir == NULL || batch < 1 || batch > 100000) {
        fprintf(stderr, "usage: issue_bench --dir CA_DIR [--seconds S] [--batch N] [--key SPEC]\n");
        return 2;
    }
    certa_ca *ca = NULL;
    if (certa_ca_open(dir, NULL, 0, &ca) < 0) {
        fprintf(stderr, "issue_bench: %s\n", certa_error_last());
        return 1;
    }
    /* Requests as a protocol hands them over: parsed from DER CSRs. */
    EVP_PKEY *keys[NKEYS];
    X509_REQ *csrs[NKEYS];
    struct certa_csr_request reqs[NKEYS];
    for (int i = 0; i < NKEYS; i++) {
        char cn[64], dns[80];
        snprintf(cn, sizeof(cn), "CN=device-%d.example.com,O=Example", i);
        snprintf(dns, sizeof(dns), "dns:device-%d.example.com", i);
        const char *sans[1] = { dns };
        struct certa_csr_params cp = { .subject = cn, .sans = sans, .san_count = 1 };
        X509_REQ *made = NULL;
        unsigned char *der = NULL;
        int len;
        if (certa_key_generate(keyspec, &keys[i]) < 0 || certa_csr_create(keys[i], &cp, &made) < 0 ||
            (len = i2d_X509_REQ(made, &der)) <= 0 || certa_csr_parse(der, (size_t)len, &csrs[i]) < 0 ||
            certa_request_from_csr(csrs[i], &reqs[i]) < 0) {
            fprintf(stderr, "issue_bench: %s\n", certa_error_last());
            return 1;
        }
        reqs[i].req.protocol = "bench";
        reqs[i].req.requester = "bench";
        X509_REQ_free(made);
        OPENSSL_free(der);
    }
    const struct certa_request **ptrs = calloc((size_t)batch, sizeof(*ptrs));
    struct certa_issue_result *res = calloc((size_t)batch, sizeof(*res));
    for (int i = 0; i < batch; i++)
        ptrs[i] = &reqs[i % NKEYS].req;

    long issued = 0;
    double t0 = now_s(), c0 = cpu_s(), t;
    do {
        if (certa_ca_submit_batch(ca, ptrs, (size_t)batch, res) < 0) {
            fprintf(stderr, "issue_bench: %s\n", certa_error_last());
            return 1;
        }
        for (int i = 0; i < batch; i++) {
            issued += res[i].decision == CERTA_DECISION_ISSUED;
            certa_issue_result_clear(&res[i]);
        }
        t = now_s() - t0;
    } while (t < seconds);
    double cpu = cpu_s() - c0;
    printf("certs=%ld seconds=%.3f cpu_seconds=%.3f certs_per_s=%.1f certs_per_cpu_s=%.1f\n", issued, t, cpu,
           (double)issued / t, (double)issued / cpu);

    free(ptrs);
    free(res);
    for (int i = 0; i < NKEYS; i++) {
        certa_csr_request_clear(&reqs[i]);
        X509_REQ_free(csrs[i]);
        EVP_PKEY_free(keys[i]);
    }
    certa_ca_free(ca);
    return 0;
}
