/* certa ca approve: issues a request that waits for manual approval; the
 * certificate is recorded and then reaches the device through its protocol's
 * poll (or --out here for offline requests). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include "certa/ca.h"
#include "ca_cli.h"
#include "cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca approve",
    .usage = "--dir DIR ID [--out FILE] [--passphrase-file F]",
    .summary = "approve a pending request and issue its certificate",
    .help = "  --dir DIR              the CA state directory\n"
            "  ID                     the request id (certa ca requests)\n"
            "  --out FILE             also write the certificate (PEM) there\n"
            "  --passphrase-file F    the CA key passphrase (or CERTA_CA_PASSPHRASE)\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "out", required_argument, NULL, 'o' },
        { "passphrase-file", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL, *out = NULL, *pass_file = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'o': out = optarg; break;
        case 'P': pass_file = optarg; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    if (dir == NULL || optind != argc - 1)
        return cli_usage_error(&cmd, "--dir and one request ID are required");
    char *end;
    long long id = strtoll(argv[optind], &end, 10);
    if (*end || id <= 0)
        return cli_usage_error(&cmd, "'%s' is not a request id", argv[optind]);
    certa_ca *ca = NULL;
    X509 *x = NULL;
    int rc = ca_cli_open(dir, pass_file, 0, &ca);
    if (rc == 0)
        rc = certa_ca_approve(ca, (int64_t)id, &x);
    if (rc == 0 && out != NULL)
        rc = ca_cli_write_pem(x, NULL, out);
    if (rc == 0) {
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        printf("approved request %lld: issued serial=%s\n", id, hex ? hex : "?");
        OPENSSL_free(hex);
        BN_free(bn);
    }
    X509_free(x);
    certa_ca_free(ca);
    return rc < 0 ? cli_fail("ca approve", rc) : EXIT_OK;
}
