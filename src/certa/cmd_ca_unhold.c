/* certa ca unhold: release a certificate on hold (certificateHold); the next
 * delta CRL lists it as removeFromCRL and full CRLs no longer list it. */
#include <getopt.h>
#include <stdio.h>
#include "certa/ca.h"
#include "cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca unhold",
    .usage = "--dir DIR --serial HEX",
    .summary = "release a certificate on hold (removeFromCRL)",
    .help = "  --dir DIR      the CA state directory\n"
            "  --serial HEX   as openssl x509 -serial prints it (case and colons ignored)\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "serial", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL, *serial = NULL;
    int c, rc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 's': serial = optarg; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
    if (dir == NULL || serial == NULL)
        return cli_usage_error(&cmd, "--dir and --serial are required");
    char norm[CERTA_SERIAL_HEX_MAX];
    if ((rc = certa_serial_normalize(serial, norm, sizeof(norm))) < 0)
        return cli_fail("ca unhold", rc);
    certa_ca *ca = NULL;
    /* Revocation signs nothing (the CRL does): the CA key stays locked. */
    if ((rc = certa_ca_open(dir, NULL, CERTA_CA_NOKEY, &ca)) == 0 &&
        (rc = certa_ca_release_hold(ca, norm)) == 0)
        printf("released hold on %s\n", serial);
    certa_ca_free(ca);
    return rc < 0 ? cli_fail("ca unhold", rc) : EXIT_OK;
}
