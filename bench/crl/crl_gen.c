/* Benchmark data for bench/crl: fills a certa CA's store with N revoked
 * certificates (direct store inserts, large transactions, each entry
 * pre-encoded as at revocation time) and writes the same serials, dates and
 * reasons as an `openssl ca` index.txt, so both tools list identical CRLs.
 *
 * usage: crl_gen CA_DIR COUNT INDEX_TXT
 * Certificate rows carry the CA certificate's DER as a stand-in body: CRL
 * generation never reads certificate bodies, only the revocations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>
#include "certa/store.h"
#include "certa/util.h"
#include "ca/crl.h"

#define BATCH 50000

static const struct { int code; const char *name; } reasons[] = {
    { 1, "keyCompromise" }, { 4, "superseded" }, { 5, "cessationOfOperation" },
    { 3, "affiliationChanged" }, { 0, "unspecified" },
};

static void utc(char *out, size_t len, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, len, "%y%m%d%H%M%SZ", &tm);
}

static int fail(const char *what)
{
    fprintf(stderr, "crl_gen: %s: %s\n", what, certa_error_last());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: crl_gen CA_DIR COUNT INDEX_TXT\n");
        return 2;
    }
    long count = strtol(argv[2], NULL, 10);
    char path[4096];
    certa_store *s = NULL;
    certa_buf cert = { 0 };
    snprintf(path, sizeof(path), "%s/ca.crt", argv[1]);
    if (certa_file_read(path, 1 << 20, &cert) != 0)
        return fail("reading the CA certificate");
    snprintf(path, sizeof(path), "%s/ca.db", argv[1]);
    if (certa_store_open(path, 0, &s) != 0)
        return fail("opening the store");
    FILE *idx = fopen(argv[3], "w");
    if (idx == NULL) {
        perror(argv[3]);
        return 1;
    }
    int64_t now = (int64_t)time(NULL), not_after = now + 365 * 86400;
    char exp[16], rev[16];
    utc(exp, sizeof(exp), not_after);
    for (long i = 0; i < count; i++) {
        if (i % BATCH == 0 && certa_store_begin(s) != 0)
            return fail("starting a transaction");
        unsigned char raw[16];
        char hex[33], upper[33];
        RAND_bytes(raw, sizeof(raw));
        raw[0] = (unsigned char)(0x10 | (raw[0] & 0x6f));   /* positive, 32 hex digits */
        certa_hex_encode(raw, sizeof(raw), hex);
        for (int k = 0; k < 33; k++)
            upper[k] = (char)(hex[k] >= 'a' && hex[k] <= 'f' ? hex[k] - 32 : hex[k]);
        struct certa_cert_row row = { .subject = (char *)"CN=device", .profile = (char *)"default",
                                      .issued_at = now - 86400, .not_before = now - 86400,
                                      .not_after = not_after, .der = cert.data,
                                      .der_len = cert.len };
        memcpy(row.serial, hex, 33);
        int64_t when = now - 3600 - (count - i);
        int r = (int)(i % (long)(sizeof(reasons) / sizeof(reasons[0])));
        if (certa_store_cert_insert(s, &row) != 0)
            return fail("inserting a certificate");
        if (certa_crl_store_revoke(s, hex, reasons[r].code, when, 0) != 0)
            return fail("revoking");
        utc(rev, sizeof(rev), when);
        /* unspecified: no reason in the index, as certa omits the extension */
        fprintf(idx, "R\t%s\t%s%s%s\t%s\tunknown\t/CN=device%ld\n", exp, rev,
                reasons[r].code ? "," : "", reasons[r].code ? reasons[r].name : "", upper, i);
        if ((i + 1) % BATCH == 0 || i + 1 == count) {
            if (certa_store_commit(s) != 0)
                return fail("committing");
        }
    }
    if (fclose(idx) != 0) {
        perror(argv[3]);
        return 1;
    }
    certa_store_close(s);
    certa_buf_free(&cert);
    return 0;
}
