/* certa ca cert: the CA certificate (and with --chain the certificates
 * above it) as PEM on stdout, for devices to fetch and pin. */
#include <getopt.h>
#include "certa/ca.h"
#include "ca_cli.h"
#include "cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "ca cert",
    .usage = "--dir DIR [--chain]",
    .summary = "print the CA certificate as PEM",
    .help = "  --dir DIR   the CA state directory\n"
            "  --chain     also print the certificates above the CA, issuer first\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "chain", no_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL;
    int chain = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'c': chain = 1; break;
        default: return cli_usage_error(&cmd, "unknown option");
        }
    }
    int usage = ca_cli_args_done(&cmd, argc, argv, dir);
    if (usage != 0)
        return usage;
    certa_ca *ca = NULL;
    int rc = certa_ca_open(dir, NULL, CERTA_CA_READONLY, &ca);
    if (rc == 0)
        rc = ca_cli_write_pem(certa_ca_cert(ca), chain ? certa_ca_chain(ca) : NULL, NULL);
    certa_ca_free(ca);
    return rc < 0 ? cli_fail("ca cert", rc) : EXIT_OK;
}
