/* certa import: installs the certificate a CA issued for a trustpoint
 * (PEM, DER or PKCS#7 certs-only), after checking that it carries one of our
 * public keys and chains to the trustpoint's CA; --ca installs the CA
 * certificate itself (pinned by the trustpoint's fingerprint, if set). */
#include <getopt.h>
#include "certa/trustpoint.h"
#include "cli.h"
#include "key_cli.h"

static int run(int argc, char **argv);

static const struct cli_command cmd = {
    .name = "import",
    .usage = "NAME FILE [--ca]",
    .summary = "install an issued certificate (or, with --ca, the CA certificate)",
    .help = "  FILE                   PEM (one or more certificates), DER, or PKCS#7 certs-only;\n"
            "                         '-' reads standard input\n"
            "  --ca                   install the CA certificate of FILE as the trustpoint's CA\n"
            "                         (it must match the configured --fingerprint, if any)\n",
    .run = run,
};
CLI_COMMAND(cmd)

static int run(int argc, char **argv)
{
    static const struct option opts[] = { { "ca", no_argument, NULL, 'c' }, { NULL, 0, NULL, 0 } };
    int as_ca = 0, c, rc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'c')
            return cli_usage_error(&cmd, "unknown option");
        as_ca = 1;
    }
    if (optind + 2 != argc)
        return cli_usage_error(&cmd, "give a trustpoint NAME and a FILE");
    certa_buf data = { 0 };
    rc = certa_file_read(argv[optind + 1], 1024 * 1024, &data);
    if (rc == 0)
        rc = certa_trustpoint_import(cli_state_dir(), argv[optind], data.data, data.len, as_ca);
    certa_buf_free(&data);
    if (rc < 0)
        return cli_fail(cmd.name, rc);
    return EXIT_OK;
}
