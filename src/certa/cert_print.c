/* Prints a certificate for the operator to judge (IOS layout): serial,
 * subject, issuer, validity and the md5/sha1/sha256 fingerprints. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <openssl/bn.h>
#include "certa/csr.h"
#include "certa/trustpoint.h"
#include "cert_print.h"

static void print_time(const char *label, const ASN1_TIME *t)
{
    struct tm tm;
    char buf[64] = "?";
    if (ASN1_TIME_to_tm(t, &tm))
        strftime(buf, sizeof(buf), "%H:%M:%S UTC %a %b %d %Y", &tm);
    printf("%s:%s\n", label, buf);
}

void cli_print_cert(const char *role, X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *serial = bn != NULL ? BN_bn2hex(bn) : NULL;
    char *subject = certa_name_text(X509_get_subject_name(x));
    char *issuer = certa_name_text(X509_get_issuer_name(x));
    static const char *const mds[] = { "md5", "sha1", "sha256" };
    printf("%s\n", role);
    printf("Serial Number  :%s\n", serial ? serial : "?");
    printf("Subject Name   :\n%s\n", subject ? subject : "?");
    printf("Issued By      :\n%s\n", issuer ? issuer : "?");
    print_time("Validity Start ", X509_get0_notBefore(x));
    print_time("Validity End   ", X509_get0_notAfter(x));
    for (size_t i = 0; i < 3; i++) {
        char fp[200];
        if (certa_cert_fingerprint(x, mds[i], fp, sizeof(fp)) == 0)
            printf("Fingerprint %-6s:%s\n", mds[i], fp);
    }
    OPENSSL_free(serial);
    BN_free(bn);
    free(subject);
    free(issuer);
}
