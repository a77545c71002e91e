/* certa ca show: one issued certificate by serial: its record in the store
 * (status, revocation, profile), the certificate as `openssl x509 -text`
 * prints it, and its PEM. */
#include <getopt.h>
#include <stdio.h>
#include <openssl/pem.h>
#include "certa/ca.h"
#include "ca_cli.h"
#include "cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca show",
    .usage = "--dir DIR --serial HEX [--pem]",
    .summary = "show an issued certificate and its status",
    .help = "  --dir DIR      the CA state directory\n"
            "  --serial HEX   as openssl x509 -serial prints it (case and colons ignored)\n"
            "  --pem          print only the PEM\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int show(const char *dir, const char *serial, int pem_only)
{
    certa_ca *ca = NULL;
    struct certa_cert_row row = { 0 };
    X509 *x = NULL;
    char norm[CERTA_SERIAL_HEX_MAX], t[32];
    int rc = certa_serial_normalize(serial, norm, sizeof(norm));
    if (rc < 0)
        return rc;
    if ((rc = certa_ca_open(dir, NULL, CERTA_CA_READONLY, &ca)) < 0)
        return rc;
    if ((rc = certa_store_cert_get(certa_ca_store(ca), norm, &row)) < 0) {
        if (rc == CERTA_ENOTFOUND)
            certa_error_set(rc, "no certificate with serial %s was issued by this CA", norm);
        goto out;
    }
    const unsigned char *p = row.der;
    if ((x = d2i_X509(NULL, &p, (long)row.der_len)) == NULL) {
        rc = certa_error_ossl(CERTA_ESTORE, "certificate %s in the store does not decode", norm);
        goto out;
    }
    if (!pem_only) {
        printf("Serial:     %s\nSubject:    %s\nProfile:    %s\nStatus:     %s\n", row.serial,
               row.subject ? row.subject : "", row.profile ? row.profile : "",
               ca_cli_status(row.status, row.reason, row.not_after));
        printf("Issued:     %s\n", ca_cli_time(row.issued_at, t, sizeof(t)));
        if (row.status == CERTA_CERT_REVOKED) {
            printf("Revoked:    %s\nReason:     %s\n", ca_cli_time(row.revoked_at, t, sizeof(t)),
                   certa_reason_name(row.reason));
        }
        if (row.request_id)
            printf("Request:    %lld\n", (long long)row.request_id);
        printf("\n");
        BIO *out = BIO_new_fp(stdout, BIO_NOCLOSE);
        X509_print_ex(out, x, XN_FLAG_ONELINE, 0);
        BIO_free(out);
        fflush(stdout);
    }
    rc = ca_cli_write_pem(x, NULL, NULL);
out:
    X509_free(x);
    certa_cert_row_clear(&row);
    certa_ca_free(ca);
    return rc;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "serial", required_argument, NULL, 's' },
        { "pem", no_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL, *serial = NULL;
    int pem = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 's': serial = optarg; break;
        case 'p': pem = 1; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
    if (dir == NULL || serial == NULL)
        return cli_usage_error(&cmd, "--dir and --serial are required");
    int rc = show(dir, serial, pem);
    return rc < 0 ? cli_fail("ca show", rc) : EXIT_OK;
}
